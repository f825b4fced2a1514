import click

from microgpt_trace.microgpt.runs.checkpoint import load_model
from microgpt_trace.microgpt.sample import generate

from ..options import FilePath

MAX_SAMPLES = 10_000  # a list a reader can still scroll; more is a mistyped number


@click.command()
@click.option("--checkpoint", type=FilePath(dir_okay=False),
              help="Checkpoint to sample from [default: the shipped checkpoint].")
@click.option("-n", "num_samples", type=click.IntRange(1, MAX_SAMPLES), default=20,
              show_default=True, help="Number of samples.")
@click.option("--temperature", type=float, default=0.5, show_default=True,
              help="Softmax temperature; lower is more conservative.")
@click.option("--seed", type=int, default=None,
              help="Seed a fresh RNG [default: continue the checkpoint's RNG, as microgpt.py "
              "does].")
@click.option("--engine", type=click.Choice(["float", "fused", "atomic"]), default="float",
              show_default=True, help="float: plain floats; fused, atomic: Value graphs "
              "(same samples).")
def sample(checkpoint, num_samples, temperature, seed, engine):
    """Generate names from a checkpoint, one per line."""
    import random

    model, tokenizer, rng = load_model(checkpoint, engine)
    if seed is not None:
        rng = random.Random(seed)
    samples = generate(model, tokenizer, rng, num_samples, temperature, engine)
    for i, text in enumerate(samples, 1):
        click.echo(f"sample {i:2d}: {text}")
