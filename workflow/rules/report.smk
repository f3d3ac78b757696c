rule gather_timings:
    input:
        timings=[
            *per_store(rules.measure.output.timings),
            rules.head_to_head.output[0],
        ],
        memory=per_store(rules.measure.output.memory),
    output:
        "results/timings.csv",
    log:
        "results/logs/gather_timings.log",
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    script:
        "../scripts/gather_timings.py"


rule gather_disk_usage:
    input:
        per_store(rules.measure.output.disk_usage),
    output:
        "results/disk_usage.csv",
    log:
        "results/logs/gather_disk_usage.log",
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    script:
        "../scripts/gather.py"


rule summarise:
    input:
        timings=rules.gather_timings.output[0],
        head_to_head=rules.head_to_head.output[0],
        disk_usage=rules.gather_disk_usage.output[0],
        environment=rules.environment.output[0],
        methods=rules.describe_methods.output[0],
        dataset=rules.prepare_dataset.output[-1],
    output:
        summary=report(
            "results/summary.csv", caption="../report/summary.rst", category="Summary"
        ),
        winners=report(
            "results/winners.csv", caption="../report/winners.rst", category="Summary"
        ),
        markdown="results/summary.md",
        aa=report(
            "results/aa_check.csv",
            caption="../report/aa_check.rst",
            category="Summary",
        ),
    log:
        "results/logs/summarise.log",
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    params:
        verdicts=VERDICT_RULES,
        twins=TWINS,
    script:
        "../scripts/summarise.py"


rule gather_paper:
    input:
        expand(rules.paper.output, method=PAPER_METHODS, cutoff=CUTOFFS),
    output:
        "results/paper.csv",
    log:
        "results/logs/gather_paper.log",
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    script:
        "../scripts/gather.py"


rule plot_overview:
    input:
        timings=rules.head_to_head.output[0],
        methods=rules.describe_methods.output[0],
    output:
        report(
            multiext(f"results/figures/{OVERVIEW}", ".png", ".svg"),
            caption="../report/overview.rst",
            category="1. What to pick",
            labels={"figure": OVERVIEW},
        ),
    log:
        f"results/logs/plot/{OVERVIEW}.log",
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    script:
        "../scripts/plot.py"


rule front_page:
    input:
        overview=rules.plot_overview.output[0],
        winners=rules.summarise.output.winners,
        methods=rules.describe_methods.output[0],
    output:
        "results/front_page.rst",
    log:
        "results/logs/front_page.log",
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    script:
        "../scripts/front_page.py"


rule plot_operation:
    input:
        timings=rules.gather_timings.output[0],
        methods=rules.describe_methods.output[0],
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
        operation="|".join(OPERATION_FIGURES),
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    params:
        caption=operation_caption,
    script:
        "../scripts/plot.py"


rule plot_timings:
    input:
        timings=rules.gather_timings.output[0],
        methods=rules.describe_methods.output[0],
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
        figure="|".join(TIMING_FIGURES),
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    script:
        "../scripts/plot.py"


rule plot_epoch:
    input:
        timings=rules.gather_timings.output[0],
        methods=rules.describe_methods.output[0],
    output:
        report(
            multiext(f"results/figures/{EPOCH}", ".png", ".svg"),
            caption="../report/epoch.rst",
            category="Training loops",
            labels={"figure": EPOCH},
        ),
    log:
        f"results/logs/plot/{EPOCH}.log",
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    script:
        "../scripts/plot.py"


rule plot_disk_usage:
    input:
        disk_usage=rules.gather_disk_usage.output[0],
        methods=rules.describe_methods.output[0],
    output:
        report(
            multiext("results/figures/{figure}", ".png", ".svg"),
            caption="../report/disk_usage.rst",
            category="Disk usage",
            labels={"figure": "{figure}"},
        ),
    log:
        "results/logs/plot/{figure}.log",
    wildcard_constraints:
        figure="|".join(DISK_FIGURES),
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    script:
        "../scripts/plot.py"


rule plot_dataset:
    input:
        dataset=rules.prepare_dataset.output[-1],
    output:
        report(
            multiext("results/figures/{figure}", ".png", ".svg"),
            caption="../report/dataset.rst",
            category="Data",
            labels={"figure": "{figure}"},
        ),
    log:
        "results/logs/plot/{figure}.log",
    wildcard_constraints:
        figure="|".join(DATA_FIGURES),
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    resources:
        bench_slot=1,
    script:
        "../scripts/plot.py"
