"""Tiny random-weight models, in safetensors, for every architecture of the
open-weight models fmcat knows, with tokenizers trained offline in well under
a second by the `tokenizers` library. Used by the smoke-test tests, the GPU
check script and the benchmarks; nothing is downloaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "foundation models come under commercial, open source or custom licenses",
    "paris is the capital of france and berlin is the capital of germany",
    "a photo of a cat sitting on a red chair in the sun",
    "hello world, this is a tiny model for smoke tests",
] * 20


def _bpe_tokenizer(special: list[str], vocab_size: int = 300):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def _wordpiece_tokenizer():
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(CORPUS, trainers.WordPieceTrainer(vocab_size=200, special_tokens=special))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return tok


def _fast(tok, **special):  # type: ignore[no-untyped-def]
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=tok, **special)


def _causal(config_cls: str, **kw) -> Callable[[Path], dict]:
    def build(out: Path) -> dict:
        import transformers
        from transformers import AutoModelForCausalLM

        tok = _fast(_bpe_tokenizer(["<unk>", "<s>", "</s>", "<pad>"]),
                    unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>")
        config = getattr(transformers, config_cls)(vocab_size=len(tok), bos_token_id=tok.bos_token_id,
                                                   eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, **kw)
        model = AutoModelForCausalLM.from_config(config)
        model.save_pretrained(out, safe_serialization=True)
        tok.save_pretrained(out)
        return {"pipeline_tag": "text-generation", "library_name": "transformers"}

    return build


def _t5(out: Path) -> dict:
    from transformers import T5Config, T5ForConditionalGeneration

    tok = _fast(_bpe_tokenizer(["<pad>", "</s>", "<unk>"]), pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    config = T5Config(vocab_size=len(tok), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2,
                      num_heads=4, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                      decoder_start_token_id=tok.pad_token_id)
    T5ForConditionalGeneration(config).save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return {"pipeline_tag": "translation", "library_name": "transformers"}


def _masked(kind: str) -> Callable[[Path], dict]:
    def build(out: Path) -> dict:
        from transformers import BertConfig, BertForMaskedLM, RobertaConfig, RobertaForMaskedLM

        tok = _fast(_wordpiece_tokenizer(), unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                    sep_token="[SEP]", mask_token="[MASK]")
        cfg = dict(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                   intermediate_size=64, max_position_embeddings=64, pad_token_id=tok.pad_token_id)
        if kind == "bert":
            model = BertForMaskedLM(BertConfig(**cfg))
        else:
            model = RobertaForMaskedLM(RobertaConfig(**cfg, bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id))
        model.save_pretrained(out, safe_serialization=True)
        tok.save_pretrained(out)
        return {"pipeline_tag": "fill-mask", "library_name": "transformers"}

    return build


def _stable_diffusion(out: Path) -> dict:
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    tok = _fast(_bpe_tokenizer(["<|endoftext|>", "<|startoftext|>"]), bos_token="<|startoftext|>",
                eos_token="<|endoftext|>", pad_token="<|endoftext|>", unk_token="<|endoftext|>",
                model_max_length=16)
    text = CLIPTextModel(CLIPTextConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=37,
                                        num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=16,
                                        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                        pad_token_id=tok.pad_token_id, projection_dim=32))
    unet = UNet2DConditionModel(sample_size=16, in_channels=4, out_channels=4, layers_per_block=1,
                                block_out_channels=(32, 64), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32,
                                attention_head_dim=8, norm_num_groups=8)
    vae = AutoencoderKL(block_out_channels=(8, 16), in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
                        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), norm_num_groups=8, sample_size=32)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tok, unet=unet, scheduler=scheduler,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(out, safe_serialization=True)
    return {"pipeline_tag": "text-to-image", "library_name": "diffusers"}


def _bark(out: Path) -> dict:
    from transformers import (BarkCoarseConfig, BarkConfig, BarkFineConfig, BarkModel, BarkSemanticConfig,
                              EncodecConfig)
    from transformers.models.bark.generation_configuration_bark import (
        BarkCoarseGenerationConfig, BarkFineGenerationConfig, BarkSemanticGenerationConfig)

    # Bark's token layout is fixed by its generation config (text offset 10048, semantic
    # vocabulary 10000, 2 coarse + 8 fine EnCodec codebooks of 1024): only the widths shrink.
    small = dict(block_size=1024, num_layers=1, num_heads=2, hidden_size=16)
    config = BarkConfig(
        semantic_config=BarkSemanticConfig(input_vocab_size=129600, output_vocab_size=10048, **small).to_dict(),
        coarse_acoustics_config=BarkCoarseConfig(input_vocab_size=12096, output_vocab_size=12096, **small).to_dict(),
        fine_acoustics_config=BarkFineConfig(input_vocab_size=1056, output_vocab_size=1056, n_codes_total=8,
                                             n_codes_given=1, **small).to_dict(),
        codec_config=EncodecConfig(target_bandwidths=[6.0], sampling_rate=24000, audio_channels=1, num_filters=4,
                                   num_residual_layers=1, upsampling_ratios=[8, 5, 4, 2], codebook_size=1024,
                                   hidden_size=8, num_lstm_layers=1).to_dict(),
    )
    BarkModel(config).save_pretrained(out, safe_serialization=True)
    # Bark keeps one generation config per sub-model; written as the plain JSON that
    # BarkModel.generate reads (saving a BarkGenerationConfig object fails in transformers 5)
    generation = {
        "semantic_config": BarkSemanticGenerationConfig(max_new_tokens=16).to_dict(),
        "coarse_acoustics_config": BarkCoarseGenerationConfig(max_coarse_history=30, sliding_window_len=16).to_dict(),
        "fine_acoustics_config": BarkFineGenerationConfig().to_dict(),
        "sample_rate": 24000,
        "codebook_size": 1024,
    }
    (out / "generation_config.json").write_text(json.dumps(generation, indent=2))
    tok = _fast(_wordpiece_tokenizer(), unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                sep_token="[SEP]", mask_token="[MASK]")
    tok.save_pretrained(out)
    return {"pipeline_tag": "text-to-speech", "library_name": "transformers"}


TINY = {
    "llama": ("LlamaForCausalLM", "llama2", _causal("LlamaConfig", hidden_size=32, intermediate_size=64,
              num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)),
    "mistral": ("MistralForCausalLM", "apache-2.0", _causal("MistralConfig", hidden_size=32, intermediate_size=64,
                num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)),
    "gemma": ("GemmaForCausalLM", "gemma", _causal("GemmaConfig", hidden_size=32, intermediate_size=64,
              num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1, head_dim=8,
              max_position_embeddings=64)),
    "falcon": ("FalconForCausalLM", "apache-2.0", _causal("FalconConfig", hidden_size=32, num_hidden_layers=2,
               num_attention_heads=4)),
    "gpt-neox": ("GPTNeoXForCausalLM", "mit", _causal("GPTNeoXConfig", hidden_size=32, intermediate_size=64,
                 num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=64)),
    "gpt2": ("GPT2LMHeadModel", "mit", _causal("GPT2Config", n_embd=32, n_layer=2, n_head=4, n_positions=64)),
    "bloom": ("BloomForCausalLM", "bigscience-bloom-rail-1.0", _causal("BloomConfig", hidden_size=32, n_layer=2,
              n_head=4)),
    "t5": ("T5ForConditionalGeneration", "apache-2.0", _t5),
    "bert": ("BertForMaskedLM", "apache-2.0", _masked("bert")),
    "roberta": ("RobertaForMaskedLM", "mit", _masked("roberta")),
    "bark": ("BarkModel", "mit", _bark),
    "stable-diffusion": ("StableDiffusionPipeline", "creativeml-openrail-m", _stable_diffusion),
}


def build(kind: str, out: Path) -> Path:
    """Build the tiny ``kind`` model into ``out`` (with a README card); returns ``out``."""
    import torch

    torch.manual_seed(0)
    arch, license_id, builder = TINY[kind]
    out.mkdir(parents=True, exist_ok=True)
    meta = builder(out)
    card = {"license": license_id, **meta, "tags": ["fmcat-tiny"]}
    lines = ["---"] + [f"{k}: {json.dumps(v)}" for k, v in card.items()] + ["---", f"# tiny {kind} ({arch})", ""]
    (out / "README.md").write_text("\n".join(lines))
    return out


# --- GGUF -------------------------------------------------------------------------

GGUF_VOCAB = (["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)]
              + ["▁Hello", "▁my", "▁name", "▁is", "▁", "H", "e", "l", "o", ","])


def tiny_gguf(path: Path, quant: str = "Q8_0", *, arch: str = "llama", license_id: str | None = None,
              base_url: str | None = None, base_name: str | None = None) -> Path:
    """A tiny random-weight Llama in GGUF, written with the gguf package's own writer:
    a SentencePiece-style tokenizer in its metadata, tensors in F32, F16 or Q8_0
    (norms stay F32, as llama.cpp writes them), optional general.license and base model."""
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFWriter
    from gguf.quants import quantize

    vocab, hidden, layers, ffn, heads = len(GGUF_VOCAB), 64, 2, 128, 4
    w = GGUFWriter(str(path), arch)
    w.add_name("tiny llama")
    if license_id:
        w.add_license(license_id)
    if base_url or base_name:
        w.add_base_model_count(1)
        w.add_base_model_name(0, base_name or "Llama 3.2 1B")
        w.add_base_model_organization(0, "Meta Llama")
        if base_url:
            w.add_base_model_repo_url(0, base_url)
    w.add_context_length(128)
    w.add_embedding_length(hidden)
    w.add_block_count(layers)
    w.add_feed_forward_length(ffn)
    w.add_head_count(heads)
    w.add_head_count_kv(heads)
    w.add_rope_dimension_count(hidden // heads)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type({"F32": 0, "F16": 1, "Q8_0": 7}[quant])
    w.add_tokenizer_model("llama")
    w.add_token_list(GGUF_VOCAB)
    w.add_token_scores([0.0] * 3 + [-1000.0] * 256 + [-float(i) for i in range(1, len(GGUF_VOCAB) - 258)])
    w.add_token_types([2, 3, 3] + [6] * 256 + [1] * (len(GGUF_VOCAB) - 259))
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    rng = np.random.default_rng(0)

    def tensor(name: str, shape: tuple[int, ...]) -> None:
        if name.endswith("norm.weight"):
            w.add_tensor(name, np.ones(shape, np.float32))
            return
        a = (rng.standard_normal(shape) * 0.02).astype(np.float32)
        if quant == "F16":
            w.add_tensor(name, a.astype(np.float16))
        elif quant == "Q8_0":
            q = quantize(a, GGMLQuantizationType.Q8_0)
            w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=GGMLQuantizationType.Q8_0)
        else:
            w.add_tensor(name, a)

    tensor("token_embd.weight", (vocab, hidden))
    for i in range(layers):
        tensor(f"blk.{i}.attn_norm.weight", (hidden,))
        tensor(f"blk.{i}.ffn_norm.weight", (hidden,))
        for n in ("attn_q", "attn_k", "attn_v", "attn_output"):
            tensor(f"blk.{i}.{n}.weight", (hidden, hidden))
        tensor(f"blk.{i}.ffn_gate.weight", (ffn, hidden))
        tensor(f"blk.{i}.ffn_up.weight", (ffn, hidden))
        tensor(f"blk.{i}.ffn_down.weight", (hidden, ffn))
    tensor("output_norm.weight", (hidden,))
    tensor("output.weight", (vocab, hidden))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
