rule prepare_dataset:
    output:
        multiext("results/data/", "images.npy", "labels.npy", "dataset.json"),
    log:
        "results/logs/prepare_dataset.log",
    benchmark:
        "results/benchmarks/prepare_dataset.tsv"
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    params:
        dataset=config["dataset"],
    script:
        "../scripts/prepare_dataset.py"
