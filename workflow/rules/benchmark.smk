rule store:
    input:
        DATA,
    output:
        store=directory("results/stores/{method}/{cutoff}"),
        timings="results/timings/{method}/{cutoff}/store.csv",
    log:
        "results/logs/store/{method}/{cutoff}.log",
    benchmark:
        "results/benchmarks/store/{method}/{cutoff}.tsv"
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    params:
        method=method_spec,
        repeats=config["repeats"],
    script:
        "../scripts/store.py"


rule read:
    input:
        data=DATA,
        store="results/stores/{method}/{cutoff}",
    output:
        timings="results/timings/{method}/{cutoff}/read.csv",
    log:
        "results/logs/read/{method}/{cutoff}.log",
    benchmark:
        "results/benchmarks/read/{method}/{cutoff}.tsv"
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    params:
        method=method_spec,
        repeats=config["repeats"],
        random_reads=config["random_reads"],
        caches=config["caches"],
        drop_caches=config["drop_caches"],
    script:
        "../scripts/read.py"


rule disk_usage:
    input:
        data=DATA,
        store="results/stores/{method}/{cutoff}",
    output:
        "results/disk_usage/{method}/{cutoff}.csv",
    log:
        "results/logs/disk_usage/{method}/{cutoff}.log",
    benchmark:
        "results/benchmarks/disk_usage/{method}/{cutoff}.tsv"
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    params:
        method=method_spec,
    script:
        "../scripts/disk_usage.py"
