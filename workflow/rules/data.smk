# Built only when the config asks for it, so no rule ever claims (or could delete) a user's own folder.
if config["dataset"]["example_images"]:

    rule make_example_folder:
        output:
            directory(config["dataset"]["path"] or "resources/example-folder"),
        log:
            "results/logs/make_example_folder.log",
        localrule: True
        conda:
            "../../envs/imagestores.yaml"
        resources:
            bench_slot=1,
        params:
            images=config["dataset"]["example_images"],
            seed=config["dataset"]["seed"],
        script:
            "../scripts/make_example_folder.py"


rule prepare_dataset:
    input:
        example_folder(),
        folder_files(),
    output:
        multiext("results/data/", *prepared_files(config["dataset"]["source"])),
    log:
        "results/logs/prepare_dataset.log",
    benchmark:
        "results/benchmarks/prepare_dataset.tsv"
    localrule: True
    conda:
        "../../envs/imagestores.yaml"
    # Decoding a folder uses every core it is given; Snakemake lowers this to --cores.
    threads: os.cpu_count()
    resources:
        bench_slot=1,
    params:
        dataset=config["dataset"],
        largest_cutoff=max(config["cutoffs"]),
    script:
        "../scripts/prepare_dataset.py"
