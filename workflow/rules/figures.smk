rule plot_operation:
    input:
        "results/timings.csv",
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
    script:
        "../scripts/plot.py"


rule plot_single_image:
    input:
        "results/timings.csv",
    output:
        report(
            multiext("results/figures/single_image", ".png", ".svg"),
            caption="../report/single_image.rst",
            category="Timings",
            labels={"figure": "single_image"},
        ),
    log:
        "results/logs/plot/single_image.log",
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    script:
        "../scripts/plot.py"


rule plot_disk_usage:
    input:
        "results/disk_usage.csv",
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
    script:
        "../scripts/plot.py"
