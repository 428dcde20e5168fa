"""Options shared by several commands: the intended use."""

from __future__ import annotations

from typing import Any, Callable

import click

USE_FLAG_PARAMS = ("commercial", "mau", "distribute", "modify", "serve", "train_other_models", "domains",
                   "revenue", "region", "outputs_only", "policy")


def use_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The intended-use flags of PRODUCT.md, plus --policy."""
    options = [
        click.option("--commercial/--non-commercial", "commercial", default=None,
                     help="Commercial use (the default) or not."),
        click.option("--mau", type=click.IntRange(min=0), metavar="N",
                     help="Monthly active users of the product the model is part of."),
        click.option("--distribute", is_flag=True, default=None,
                     help="The weights or a derivative are shipped to others."),
        click.option("--modify", is_flag=True, default=None,
                     help="Fine-tuning, merging, quantising, distilling: making a derivative."),
        click.option("--serve", is_flag=True, default=None,
                     help="Offered to third parties as a hosted service or API."),
        click.option("--train-other-models", "train_other_models", is_flag=True, default=None,
                     help="Outputs are used to train or improve another model."),
        click.option("--domain", "domains", multiple=True, metavar="D",
                     help="Field of use (repeatable), e.g. medical, law-enforcement, military; "
                     "`fmcat licenses --domains` lists the vocabulary and its aliases."),
        click.option("--revenue", type=click.IntRange(min=0), metavar="USD",
                     help="The licensee's annual revenue in USD (e.g. Stability AI's USD 1,000,000 threshold)."),
        click.option("--region", metavar="CODE",
                     help="Where the licensee is established: a country code (de, us) or eu "
                          "(e.g. the Llama 3.2 multimodal clause)."),
        click.option("--outputs-only", "outputs_only", is_flag=True, default=None,
                     help="The product uses only the model's outputs, not the model itself."),
        click.option("--policy", type=click.Path(dir_okay=False), metavar="FILE",
                     help="Organisation policy (TOML): use, rules and waivers."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def build_use(params: dict[str, Any]) -> tuple[Any, Any]:
    """The Use and Policy from the flags; flags given override the policy's [use]."""
    from pathlib import Path

    from ..decide import Use
    from ..licenses import knowledge_base
    from ..policy import load_policy

    policy = load_policy(Path(params["policy"])) if params.get("policy") else None
    base = dict(policy.use) if policy else {}

    def pick(flag: str, key: str, default: Any) -> Any:
        value = params.get(flag)
        if value is not None and value != ():
            return value
        return base.get(key, default)

    use = Use(
        commercial=pick("commercial", "commercial", True),
        mau=pick("mau", "mau", None),
        distribute=bool(pick("distribute", "distribute", False)),
        modify=bool(pick("modify", "modify", False)),
        serve=bool(pick("serve", "serve", False)),
        train_other_models=bool(pick("train_other_models", "train-other-models", False)),
        domains=knowledge_base().domains_of(params["domains"]) if params.get("domains")
        else tuple(base.get("domains") or ()),
        revenue=pick("revenue", "revenue", None),
        region=knowledge_base().region(params["region"]) if params.get("region") else base.get("region"),
        outputs_only=bool(pick("outputs_only", "outputs-only", False)),
    )
    return use, policy
