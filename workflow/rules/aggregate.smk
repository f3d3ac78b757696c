rule gather_timings:
    input:
        per_store("results/timings/{method}/{cutoff}.csv"),
    output:
        "results/timings.csv",
    log:
        "results/logs/gather_timings.log",
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    script:
        "../scripts/gather.py"


rule gather_disk_usage:
    input:
        per_store("results/disk_usage/{method}/{cutoff}.csv"),
    output:
        "results/disk_usage.csv",
    log:
        "results/logs/gather_disk_usage.log",
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    script:
        "../scripts/gather.py"


rule environment:
    output:
        report(
            "results/environment.json",
            caption="../report/environment.rst",
            category="Machine",
        ),
    log:
        "results/logs/environment.log",
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    params:
        config=config,
    script:
        "../scripts/environment.py"


rule summarise:
    input:
        timings="results/timings.csv",
        disk_usage="results/disk_usage.csv",
        environment="results/environment.json",
    output:
        summary=report(
            "results/summary.csv", caption="../report/summary.rst", category="Summary"
        ),
        winners=report(
            "results/winners.csv", caption="../report/winners.rst", category="Summary"
        ),
        markdown="results/summary.md",
    log:
        "results/logs/summarise.log",
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    script:
        "../scripts/summarise.py"


rule gather_paper:
    input:
        expand(
            "results/paper/{method}/{cutoff}.csv",
            method=PAPER_METHODS,
            cutoff=CUTOFFS,
        ),
    output:
        "results/paper.csv",
    log:
        "results/logs/gather_paper.log",
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    script:
        "../scripts/gather.py"
