rule measure:
    input:
        DATA,
    output:
        timings="results/timings/{method}/{cutoff}.csv",
        disk_usage="results/disk_usage/{method}/{cutoff}.csv",
    log:
        "results/logs/measure/{method}/{cutoff}.log",
    benchmark:
        "results/benchmarks/measure/{method}/{cutoff}.tsv"
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    params:
        method=method_spec,
        settings={
            key: config[key]
            for key in ("repeats", "random_reads", "caches", "drop_caches", "stores")
        },
    script:
        "../scripts/measure.py"


rule paper:
    input:
        DATA,
    output:
        "results/paper/{method}/{cutoff}.csv",
    log:
        "results/logs/paper/{method}/{cutoff}.log",
    benchmark:
        "results/benchmarks/paper/{method}/{cutoff}.tsv"
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    params:
        method=method_spec,
        store_root=config["stores"]["root"],
    script:
        "../scripts/paper.py"
