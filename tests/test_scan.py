"""`fmcat scan`: a fixture tree written for these tests holds every pattern the
scanner knows; each expected reference must be found at its line, and nothing else."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from .conftest import assert_one_line_error

BACKENDS = ("sqlite",)  # scanning reads the catalog like check-license; both backends are covered there

# Each file's text; a line holding a reference carries a marker comment naming what is
# expected there: "# ref: KIND MODEL" (several separated by " | "). Files whose syntax has
# no comments list their expectations in EXPECTED_OTHER instead.
PY_FILES = {
    "src/app/config.py": '''
        MODEL_ID = "meta-llama/Llama-2-7b-hf"
        ORG = "google-t5"
        SMALL = f"{ORG}/t5-small"
        REVISION = "0123456789abcdef0123456789abcdef01234567"


        class Settings:
            EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
        ''',
    "src/app/main.py": '''
        import os

        import timm
        from huggingface_hub import HfApi, hf_hub_download, snapshot_download
        from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

        from .config import MODEL_ID, REVISION, SMALL, Settings

        BERT = "google-bert/" + "bert-base-uncased"
        DEFAULT = os.environ.get("FALLBACK_MODEL", "mistralai/Mistral-7B-v0.1")


        def load(name="tiiuae/falcon-7b"):
            return AutoModelForCausalLM.from_pretrained(name)  # ref: hub tiiuae/falcon-7b


        def run(path, args):
            tok = AutoTokenizer.from_pretrained(MODEL_ID, revision=REVISION)  # ref: hub meta-llama/Llama-2-7b-hf
            own = AutoModelForCausalLM.from_pretrained(path)  # ref: unresolved path
            cli = AutoModelForCausalLM.from_pretrained(args.model)  # ref: unresolved args.model
            t5 = pipeline("text2text-generation", SMALL)  # ref: hub google-t5/t5-small
            fill = pipeline("fill-mask", model=BERT)  # ref: hub google-bert/bert-base-uncased
            default = pipeline("sentiment-analysis")  # ref: unresolved pipeline(…)
            env = AutoModelForCausalLM.from_pretrained(DEFAULT)  # ref: hub mistralai/Mistral-7B-v0.1
            bare = AutoModelForCausalLM.from_pretrained(os.getenv("MODEL_PATH"))  # ref: unresolved os.getenv('MODEL_PATH')
            kw = AutoModelForCausalLM.from_pretrained(pretrained_model_name_or_path="openai-community/gpt2")  # ref: hub openai-community/gpt2
            local = AutoModelForCausalLM.from_pretrained("./checkpoints/final")  # ref: local ./checkpoints/final
            cfg = hf_hub_download(repo_id="databricks/dolly-v2-12b", filename="config.json")  # ref: hub databricks/dolly-v2-12b
            data = hf_hub_download(repo_id="acme/some-dataset", filename="x.csv", repo_type="dataset")
            snap = snapshot_download("suno/bark", revision="v1")  # ref: hub suno/bark
            info = HfApi().model_info("bigscience/bloom")  # ref: hub bigscience/bloom
            net = timm.create_model("hf-hub:timm/resnet50.a1_in1k", pretrained=True)  # ref: hub timm/resnet50.a1_in1k
            plain = timm.create_model("resnet50", pretrained=True)
            emb = SentenceTransformer(Settings.EMBEDDER)  # ref: hub sentence-transformers/all-MiniLM-L6-v2
            return tok, own, cli, t5, fill, default, env, bare, kw, local, cfg, data, snap, info, net, plain, emb


        def docs():
            """Load a model.

            >>> from transformers import AutoModel
            >>> repo = "FacebookAI/roberta-base"
            >>> model = AutoModel.from_pretrained(repo)  # ref: hub FacebookAI/roberta-base
            """
        ''',
    "src/app/diffuse.py": '''
        from diffusers import AutoPipelineForText2Image, DiffusionPipeline
        from peft import PeftModel

        BASE = "runwayml/stable-diffusion-v1-5"
        pipe = DiffusionPipeline.from_pretrained(BASE)  # ref: hub runwayml/stable-diffusion-v1-5
        xl = AutoPipelineForText2Image.from_pretrained(
            "stabilityai/stable-diffusion-xl-base-1.0",  # ref: hub stabilityai/stable-diffusion-xl-base-1.0
            variant="fp16",
        )
        tuned = PeftModel.from_pretrained(pipe, "acme/sd-lora")  # ref: hub acme/sd-lora
        ''',
    "src/serve/engines.py": '''
        from llama_cpp import Llama
        from vllm import LLM

        engine = LLM(model="mistralai/Mistral-7B-v0.1")  # ref: hub mistralai/Mistral-7B-v0.1
        gguf = Llama.from_pretrained(repo_id="acme/tiny-GGUF", filename="*Q4_K_M.gguf")  # ref: hub acme/tiny-GGUF
        ''',
    "src/serve/hosted.py": '''
        import anthropic
        import cohere
        import google.generativeai as genai
        import litellm
        from mistralai import Mistral
        from openai import OpenAI

        client = OpenAI()
        claude = anthropic.Anthropic()
        co = cohere.Client()
        mistral = Mistral(api_key="x")

        a = client.chat.completions.create(model="gpt-4", messages=[])  # ref: api openai/gpt-4
        b = claude.messages.create(model="claude-2", max_tokens=10, messages=[])  # ref: api anthropic/claude-2
        c = co.chat(model="command", message="hi")  # ref: api cohere/command
        d = genai.GenerativeModel("gemini-pro")  # ref: api google/gemini-pro
        e = mistral.chat.complete(model="mistral-large-latest", messages=[])  # ref: api mistral/mistral-large-latest
        f = litellm.completion(model="anthropic/claude-2", messages=[])  # ref: api anthropic/claude-2
        ''',
    "src/broken.py": '''
        def oops(:
            m = AutoModel.from_pretrained("google/gemma-7b")  # ref: hub google/gemma-7b fallback
        ''',
}

NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["REPO = \"tiiuae/falcon-40b\"\n"]},
        {"cell_type": "markdown", "metadata": {}, "source": ["# from_pretrained(\"not/code\")"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["!hf download google-t5/t5-small\n", "from transformers import AutoModel\n",
                    "model = AutoModel.from_pretrained(REPO)\n"]},
    ],
    "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
}

OTHER_FILES = {
    "configs/train.yaml": "model:\n  model_name_or_path: bigscience/bloom\n  base_model: [meta-llama/Llama-2-7b-hf]\n"
                          "optimizer: adamw\nlayers: {model: linear}\n",
    "configs/serve.json": '{\n  "server": {"port": 8000},\n  "model_id": "tiiuae/falcon-7b",\n  "model": "gpt-4"\n}\n',
    "pyproject.toml": '[tool.app]\nname = "app"\ntokenizer_name = "google-bert/bert-base-uncased"\n',
    "Dockerfile": "FROM python:3.12\nARG MODEL=databricks/dolly-v2-12b\n"
                  "RUN pip install huggingface_hub && hf download $MODEL --revision abc123 && \\\n"
                  "    huggingface-cli download suno/bark\nRUN hf download $UNSET_MODEL\n",
    "scripts/fetch.sh": "#!/bin/sh\nset -e\nollama pull llama3.2:1b\nhf download acme/data --repo-type dataset\n",
    ".env": "OPENAI_MODEL=gpt-3\nHF_TOKEN=hf_secret\nEMBEDDING_MODEL='sentence-transformers/all-MiniLM-L6-v2'\n",
}

# (path, line, kind, model) for files without comment markers
EXPECTED_OTHER = {
    ("notebooks/demo.ipynb", 1, "hub", "google-t5/t5-small"),  # cell 3, line 1: !hf download
    ("notebooks/demo.ipynb", 3, "hub", "tiiuae/falcon-40b"),  # cell 3, line 3: REPO from cell 1
    ("configs/train.yaml", 2, "hub", "bigscience/bloom"),
    ("configs/train.yaml", 3, "hub", "meta-llama/Llama-2-7b-hf"),
    ("configs/serve.json", 3, "hub", "tiiuae/falcon-7b"),
    ("configs/serve.json", 4, "api", "openai/gpt-4"),
    ("pyproject.toml", 3, "hub", "google-bert/bert-base-uncased"),
    ("Dockerfile", 3, "hub", "databricks/dolly-v2-12b"),
    ("Dockerfile", 3, "hub", "suno/bark"),  # the logical line starts at 3 (a continued RUN)
    ("Dockerfile", 5, "unresolved", "$UNSET_MODEL"),
    ("scripts/fetch.sh", 3, "ollama", "llama3.2:1b"),
    (".env", 1, "api", "openai/gpt-3"),
    (".env", 3, "hub", "sentence-transformers/all-MiniLM-L6-v2"),
}

IGNORED_FILES = {  # references that must not be found: ignored, vendored or not code
    ".gitignore": "generated/\n*.secret.py\n",
    "generated/load.py": "AutoModel.from_pretrained('acme/ignored-by-gitignore')\n",
    "keys.secret.py": "AutoModel.from_pretrained('acme/ignored-by-pattern')\n",
    "node_modules/pkg/load.py": "AutoModel.from_pretrained('acme/in-node-modules')\n",
    "env311/pyvenv.cfg": "home = /usr/bin\n",
    "env311/lib/site.py": "AutoModel.from_pretrained('acme/in-a-virtualenv')\n",
    "build/lib/load.py": "AutoModel.from_pretrained('acme/in-build')\n",
    "README.md": "AutoModel.from_pretrained('acme/in-markdown')\n",
}


def write_tree(root: Path) -> set[tuple[str, int, str, str]]:
    """Write the fixture tree; return every expected (path, line, kind, model)."""
    expected = set(EXPECTED_OTHER)
    for rel, text in PY_FILES.items():
        body = textwrap.dedent(text).lstrip("\n")
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(body)
        for n, line in enumerate(body.splitlines(), 1):
            if "# ref: " in line:
                for item in line.split("# ref: ", 1)[1].split(" | "):
                    kind, model = item.split()[:2]
                    expected.add((rel, n, kind, model))
    (root / "notebooks").mkdir()
    (root / "notebooks/demo.ipynb").write_text(json.dumps(NOTEBOOK, indent=1))
    for rel, text in {**OTHER_FILES, **IGNORED_FILES}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return expected


@pytest.fixture
def tree(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    root.mkdir()
    expected = write_tree(root)
    monkeypatch.chdir(root)
    return root, expected


def scan_json(fmcat, *args, expect=1):
    return json.loads(fmcat("scan", *args, "--json", expect=expect).stdout)


def found_set(results) -> set[tuple[str, int, str, str]]:
    out = set()
    for r in results:
        model = r["model"] if r["kind"] != "unresolved" else r["expression"]
        for loc in r["locations"]:
            out.add((loc["path"], loc["line"], r["kind"], model))
    return out


def test_every_pattern_is_found_at_its_line_and_nothing_is_invented(initialised, tree):
    root, expected = tree
    results = scan_json(initialised, ".")
    assert found_set(results) == expected


def test_locations_say_how_each_reference_was_found(initialised, tree):
    results = {(r["kind"], r["model"] or r["expression"]): r for r in scan_json(initialised, ".")}
    mistral = results[("hub", "mistralai/Mistral-7B-v0.1")]
    env_loc = next(loc for loc in mistral["locations"] if loc["path"] == "src/app/main.py")
    assert env_loc["overridable_by"] == "FALLBACK_MODEL"
    falcon = next(loc for loc in results[("hub", "tiiuae/falcon-7b")]["locations"] if loc["path"].endswith(".py"))
    assert "default of parameter name" in falcon["via"]
    llama = results[("hub", "meta-llama/Llama-2-7b-hf")]
    assert llama["revisions"] == ["0123456789abcdef0123456789abcdef01234567"]
    roberta = results[("hub", "FacebookAI/roberta-base")]
    assert [loc["example"] for loc in roberta["locations"]] == [True]
    gemma = results[("hub", "google/gemma-7b")]
    assert gemma["locations"][0]["fallback"] is True
    nb = next(loc for loc in results[("hub", "tiiuae/falcon-40b")]["locations"])
    assert nb["cell"] == 3 and nb["file_line"] is not None
    nb_text = (Path("notebooks/demo.ipynb").read_text()).splitlines()
    assert "from_pretrained(REPO)" in nb_text[nb["file_line"] - 1]
    unresolved = results[("unresolved", "path")]
    assert "parameter without a default" in unresolved["why"]
    assert results[("unresolved", "os.getenv('MODEL_PATH')")]["why"] == \
        "environment variable MODEL_PATH with no default"
    gpt2 = results[("hub", "openai-community/gpt2")]["locations"][0]
    line = Path("src/app/main.py").read_text().splitlines()[gpt2["line"] - 1]
    assert gpt2["column"] == line.index('"openai-community/gpt2"') + 1


def test_fallback_and_other_notes_go_to_stderr(initialised, tree):
    result = initialised("scan", ".", expect=1)
    assert "src/broken.py: Python could not parse it" in result.stderr
    assert "pattern fallback" in result.stderr


def test_verdicts_match_check_license(initialised, tree):
    results = {(r["kind"], r["model"] or r["expression"]): r for r in scan_json(initialised, ".", "--serve")}
    check = {d["model"]: d for d in initialised.json("check-license", "meta-llama/Llama-2-7b-hf", "--serve")}
    llama = results[("hub", "meta-llama/Llama-2-7b-hf")]
    assert llama["in_catalog"] and llama["catalog_name"] == "meta-llama/Llama-2-7b-hf"
    mine = {k: llama[k] for k in ("verdict", "license", "obligations", "reasons", "flags")}
    theirs = {k: check["meta-llama/Llama-2-7b-hf"][k] for k in ("verdict", "license", "obligations", "reasons", "flags")}
    assert mine == theirs
    assert results[("api", "openai/gpt-4")]["catalog_name"] == "openai/gpt-4"
    missing = results[("hub", "acme/sd-lora")]
    assert missing["verdict"] == "unknown" and not missing["in_catalog"]
    assert "fmcat add acme/sd-lora" in missing["reasons"][0]["text"]
    assert results[("hub", "google-bert/bert-base-uncased")]["verdict"] == "allowed"
    assert results[("local", "./checkpoints/final")]["verdict"] == "unknown"


def test_table_groups_by_model_and_summarises(initialised, tree):
    out = initialised("--no-color", "scan", ".", expect=1).stdout
    block = out.split("meta-llama/Llama-2-7b-hf@0123456789abcdef0123456789abcdef01234567: CONDITIONAL", 1)[1]
    block = block.split("\n\n", 1)[0]
    assert "src/app/main.py:18:" in block and "configs/train.yaml:3:" in block
    assert "UNRESOLVED  args.model" in out
    assert "files scanned in" in out and "Needs attention:" in out


NC_TREE = {"app.py": "from transformers import AutoModel\n\nmodel = AutoModel.from_pretrained('acme/nc-model')\n"}
NC_POLICY = """
[use]
commercial = false

[rules]
deny-licenses = ["cc-by-nc-4.0"]
"""


@pytest.fixture
def nc_tree(fmcat, tmp_path, monkeypatch):
    fmcat("import", "-", input=json.dumps({"name": "acme/nc-model", "license": "cc-by-nc-4.0"}) + "\n")
    root = tmp_path / "nc"
    root.mkdir()
    (root / "app.py").write_text(NC_TREE["app.py"])
    monkeypatch.chdir(root)
    return root


def test_a_denied_license_fails_the_scan_and_sarif_points_at_the_line(fmcat, nc_tree, tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text(NC_POLICY)
    fmcat("scan", ".", "--policy", str(policy), "--format", "sarif", "-o", "out.sarif", expect=1)
    sarif = json.loads((nc_tree / "out.sarif").read_text())
    results = sarif["runs"][0]["results"]
    denied = [r for r in results if r["ruleId"] == "policy/deny-license"]
    assert len(denied) == 1 and denied[0]["level"] == "error"
    loc = denied[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "app.py"
    assert loc["region"] == {"startLine": 3, "startColumn": 35}
    assert "cc-by-nc-4.0" in denied[0]["message"]["text"]

    policy.write_text(NC_POLICY + """
[[waivers]]
model = "acme/nc-model"
verdict = "allowed"
reason = "research use approved"
approver = "legal@example.com"
expires = 2099-12-31
""")
    fmcat("scan", ".", "--policy", str(policy), expect=0)


def sarif_errors(doc):
    from sarif_kit.validate import validation_errors

    return validation_errors(doc)


def test_sarif_is_valid_against_the_2_1_0_schema(initialised, tree):
    result = initialised("scan", ".", "--format", "sarif", expect=1)
    doc = json.loads(result.stdout)
    assert sarif_errors(doc) == []
    levels = {r["ruleId"]: r["level"] for r in doc["runs"][0]["results"]}
    assert levels["reference/unresolved"] == "warning"
    assert levels["verdict/unknown"] == "warning"
    assert levels["verdict/conditional"] == "note"
    rules = [r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]]
    assert all(doc["runs"][0]["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
               for r in doc["runs"][0]["results"])
    assert len(rules) == len(set(rules))
    notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any("pattern fallback" in n["message"]["text"] for n in notes)
    # a scan with nothing to report is valid too
    empty = Path("empty")
    empty.mkdir()
    doc = json.loads(initialised("scan", "empty", "--format", "sarif").stdout)
    assert sarif_errors(doc) == [] and doc["runs"][0]["results"] == []


def test_a_clean_tree_exits_0(initialised, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("ok.py").write_text("from transformers import AutoModel\nAutoModel.from_pretrained('google-t5/t5-small')\n")
    out = initialised("scan", "ok.py").stdout
    assert "google-t5/t5-small: ALLOWED" in out


def test_add_registers_missing_api_models_then_decides_them(initialised, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("bot.py").write_text("from openai import OpenAI\nc = OpenAI()\nc.chat.completions.create(model='gpt-4o')\n")
    before = scan_json(initialised, "bot.py")
    assert before[0]["model"] == "openai/gpt-4o" and not before[0]["in_catalog"]
    result = initialised("scan", "bot.py", "--add", "--json")
    after = json.loads(result.stdout)
    assert after[0]["in_catalog"] and after[0]["verdict"] == "conditional"
    shown = initialised.json("show", "openai/gpt-4o")
    assert shown["provider"] == "OpenAI" and shown["access"] == "api"


def test_exclude_patterns_and_missing_paths(initialised, tree):
    results = scan_json(initialised, ".", "--exclude", "src/", "--exclude", "*.ipynb")
    paths = {loc["path"] for r in results for loc in r["locations"]}
    assert paths and not any(p.startswith("src/") or p.endswith(".ipynb") for p in paths)
    assert_one_line_error(initialised("scan", "no/such/dir", expect=2), "no such file or folder")


def test_hostile_trees_give_notes_not_tracebacks(initialised, tmp_path, monkeypatch):
    root = tmp_path / "hostile"
    root.mkdir()
    monkeypatch.chdir(root)
    Path("binary.py").write_bytes(b"\x7fELF\x00\x01\x02from_pretrained('acme/x')" * 100)
    with open("huge.py", "wb") as fh:  # 50 MB, sparse
        fh.truncate(50 * 1024 * 1024)
    os.symlink("loop_b.py", "loop_a.py")
    os.symlink("loop_a.py", "loop_b.py")
    os.symlink(".", "self_dir")
    os.symlink("/etc/passwd", "outside.py")
    Path("latin1.py").write_bytes("AutoModel.from_pretrained('google-t5/t5-small')  # caf\xe9\n".encode("latin-1"))
    Path("nb.ipynb").write_text("{this is not json")
    Path("deep.py").write_text("x = " + "(" * 5000 + ")" * 5000 + "\nAutoModel.from_pretrained('suno/bark')\n")
    Path("cfg.yaml").write_text("a: &a [*a]\nmodel: [unclosed\n")
    os.mkfifo("fifo.py")
    result = initialised("scan", ".", "--json", expect=0)
    assert "Traceback" not in result.stderr
    found = {r["model"] for r in json.loads(result.stdout)}
    assert "google-t5/t5-small" in found  # invalid UTF-8 is read with replacements, and said so
    assert "suno/bark" in found  # too deep for the parser: the fallback still reads it
    assert "acme/x" not in found
    for needle in ("binary.py: binary content", "huge.py: larger than", "outside.py: a symbolic link out of",
                   "loop_a.py: a broken or looping", "self_dir: a symbolic link to a folder",
                   "latin1.py: not valid UTF-8", "nb.ipynb: not a Jupyter notebook", "cfg.yaml: not valid YAML"):
        assert needle in result.stderr, (needle, result.stderr)


@pytest.mark.parametrize("package", ["transformers", "diffusers"])
def test_scanning_installed_packages_finds_their_documented_models(initialised, package):
    import importlib
    import time

    root = Path(importlib.import_module(package).__file__).parent
    t0 = time.perf_counter()
    result = initialised("scan", str(root), "--json", expect=None)
    elapsed = time.perf_counter() - t0
    assert result.exit_code in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    results = json.loads(result.stdout)
    hub = {r["model"]: r for r in results if r["kind"] == "hub"}
    spot = {"transformers": ["google-bert/bert-base-uncased", "openai-community/gpt2", "FacebookAI/roberta-base"],
            "diffusers": ["stable-diffusion-v1-5/stable-diffusion-v1-5", "stabilityai/stable-diffusion-xl-base-1.0"]}
    for model in spot[package]:
        assert model in hub, model
        lines = [Path(loc["path"]).read_text(encoding="utf-8").splitlines()[loc["line"] - 1][loc["column"] - 1:]
                 for loc in hub[model]["locations"]]
        assert any(line.lstrip("\"'").startswith(model) for line in lines)  # a location is where it is named
    print(f"\nscanned {package}: {len(hub)} Hub models in {elapsed:.1f} s")


def test_pre_commit_hook_runs_fmcat_scan():
    import yaml

    hooks = yaml.safe_load((Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "fmcat-scan")
    assert hook["entry"].startswith("fmcat scan")
    assert hook["language"] == "python" and hook["pass_filenames"] is False


def test_add_pins_the_hub_models_a_tree_loads(cli, hub_server, tmp_path):
    import uuid

    from .hubfixture import card, safetensors_bytes

    repo_id = f"acme/scanned-{uuid.uuid4().hex[:8]}"
    sha = hub_server.commit(repo_id, {
        "README.md": card({"license": "apache-2.0", "library_name": "transformers"}),
        "config.json": json.dumps({"architectures": ["BertModel"], "model_type": "bert"}).encode(),
        "model.safetensors": safetensors_bytes({"w": ("F32", [4, 4])}),
    })
    tree = tmp_path / "service"
    tree.mkdir()
    (tree / "app.py").write_text(f"from transformers import AutoModel\nAutoModel.from_pretrained({repo_id!r})\n")
    before = json.loads(cli("scan", str(tree), "--json", expect=1).stdout)
    assert before[0]["model"] == repo_id and before[0]["verdict"] == "unknown" and not before[0]["in_catalog"]
    after = json.loads(cli("scan", str(tree), "--add", "--json", expect=0).stdout)
    assert after[0]["in_catalog"] and after[0]["verdict"] == "allowed" and after[0]["license"] == "apache-2.0"
    shown = json.loads(cli("show", repo_id, "--json").stdout)
    assert shown["revision"] == sha


def test_a_model_argument_on_an_unknown_object_is_not_taken_for_a_provider_model(initialised, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("svc.py").write_text(
        "import openai\n\n\nclass Service:\n    def run(self):\n"
        "        self.client.chat.completions.create(model='gpt-4o', messages=[])\n"
        "        self.trainer.fit(model='resnet-classifier')\n")
    found = {(r["kind"], r["model"]) for r in scan_json(initialised, "svc.py")}
    assert found == {("api", "openai/gpt-4o")}  # an OpenAI model name; the trainer's argument is not invented
