rule plot_operation:
    input:
        timings="results/timings.csv",
        paper=paper_table(),
        reference=REFERENCE,
    output:
        report(
            multiext("results/figures/{operation}", ".png", ".svg"),
            caption="../report/operation.rst",
            category="Timings",
            labels={"figure": "{operation}"},
        ),
    log:
        "results/logs/plot/{operation}.log",
    wildcard_constraints:
        operation="store_many|read_many|read_random",
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    params:
        families=FAMILY_OF,
    script:
        "../scripts/plot.py"


rule plot_timings:
    input:
        timings="results/timings.csv",
    output:
        report(
            multiext("results/figures/{figure}", ".png", ".svg"),
            caption="../report/timings.rst",
            category="Timings",
            labels={"figure": "{figure}"},
        ),
    log:
        "results/logs/plot/{figure}.log",
    wildcard_constraints:
        figure="single_image|cost_per_image|peak_memory",
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    params:
        families=FAMILY_OF,
    script:
        "../scripts/plot.py"


rule plot_disk_usage:
    input:
        disk_usage="results/disk_usage.csv",
    output:
        report(
            multiext("results/figures/disk_usage", ".png", ".svg"),
            caption="../report/disk_usage.rst",
            category="Disk usage",
            labels={"figure": "disk_usage"},
        ),
    log:
        "results/logs/plot/disk_usage.log",
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    params:
        families=FAMILY_OF,
    script:
        "../scripts/plot.py"
