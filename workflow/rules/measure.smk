rule describe_methods:
    output:
        "results/methods.csv",
    log:
        "results/logs/describe_methods.log",
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    params:
        specs=list(SPECS.values()),
    script:
        "../scripts/describe_methods.py"


rule machine_drift:
    output:
        "results/machine_drift.json",
    log:
        "results/logs/machine_drift.log",
    benchmark:
        "results/benchmarks/machine_drift.tsv"
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=BENCH_SLOTS,
    script:
        "../scripts/machine_drift.py"


# Runs before any timing job, by its priority (a timing job takes every bench_slot, so none runs beside it),
# not as their input: a rerun of it for a new cutoff or method would rerun every timing job.
rule check_methods:
    input:
        rules.prepare_dataset.output,
    output:
        "results/methods_fit.csv",
    log:
        "results/logs/check_methods.log",
    priority: 100
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    params:
        specs=list(SPECS.values()),
        cutoffs=CUTOFFS,
    script:
        "../scripts/check_methods.py"


rule measure:
    input:
        data=rules.prepare_dataset.output,
        drift=rules.machine_drift.output[0],
    output:
        timings="results/timings/{method}/{cutoff}.csv",
        disk_usage="results/disk_usage/{method}/{cutoff}.csv",
        memory="results/memory/{method}/{cutoff}.csv",
    log:
        "results/logs/measure/{method}/{cutoff}.log",
    benchmark:
        "results/benchmarks/measure/{method}/{cutoff}.tsv"
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=BENCH_SLOTS,
    params:
        method=method_spec,
        settings=measure_settings,
    script:
        "../scripts/measure.py"


rule head_to_head:
    input:
        data=rules.prepare_dataset.output,
        drift=rules.machine_drift.output[0],
    output:
        "results/head_to_head.csv",
    log:
        "results/logs/head_to_head.log",
    benchmark:
        "results/benchmarks/head_to_head.tsv"
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=BENCH_SLOTS,
    params:
        methods=list(SPECS.values()),
        cutoff=max(CUTOFFS),
        settings=MEASURE_SETTINGS,
        twins=TWINS,
    script:
        "../scripts/head_to_head.py"


rule paper:
    input:
        rules.prepare_dataset.output,
    output:
        "results/paper/{method}/{cutoff}.csv",
    log:
        "results/logs/paper/{method}/{cutoff}.log",
    benchmark:
        "results/benchmarks/paper/{method}/{cutoff}.tsv"
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=BENCH_SLOTS,
    params:
        method=method_spec,
        store_root=config["stores"]["root"],
    script:
        "../scripts/paper.py"


rule environment:
    input:
        drift=rules.machine_drift.output[0],
    output:
        report(
            "results/environment.json",
            caption="../report/environment.rst",
            category="Machine",
        ),
    log:
        "results/logs/environment.log",
    benchmark:
        "results/benchmarks/environment.tsv"
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=BENCH_SLOTS,
    params:
        config=config,
    script:
        "../scripts/environment.py"
