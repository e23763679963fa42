#!/usr/bin/env python3
"""PyTorch side of the device run: the same UNet / VAE / text-encoder configs as the Node side (read from the
JSON file the driver writes), seeded random weights built directly on the device in the given dtype, with
diffusers (carried as source: put it on PYTHONPATH) and transformers (installed on the GPU machine).

  python3 torch_bench.py --configs configs.json --case unet-step|vae-decode|generate [--device cuda] [--dtype bf16]
      [--latent 64] [--batch 2] [--tokens 249] [--steps 40] [--cfg 4] [--runs 3]

Prints one line `RESULT {json}` on stdout: setup_s (building the models), first_s (first call), steady_s (median of
--runs further calls), times_s, peak_alloc_mib (torch.cuda.max_memory_allocated over the calls, weights included),
peak_rss_mib, versions. `generate` is one whole text-to-image run: the text encoder on [2, tokens] ids (prompt and
negative prompt together), `steps` flow-matching Euler steps of the UNet at batch 2 with CFG, the VAE decode.
"""
import argparse
import json
import resource
import statistics
import sys
import time


def log(msg):
    print(f"[torch_bench] {msg}", file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", required=True)
    ap.add_argument("--case", required=True, choices=["unet-step", "vae-decode", "generate"])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"])
    ap.add_argument("--latent", type=int, default=64)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=249)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--cfg", type=float, default=4.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()

    import torch

    with open(a.configs) as f:
        configs = json.load(f)
    dev = torch.device(a.device)
    dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float32
    cuda = dev.type == "cuda"
    if cuda and not torch.cuda.is_available():
        raise SystemExit("torch.cuda.is_available() is False")
    torch.manual_seed(a.seed)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def build(fn):
        prev = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            with dev:
                return fn()
        finally:
            torch.set_default_dtype(prev)

    t0 = time.perf_counter()
    models = {}
    if a.case in ("unet-step", "generate"):
        from diffusers import UNet2DConditionModel

        models["unet"] = build(lambda: UNet2DConditionModel(**configs["unet"])).eval()
    if a.case in ("vae-decode", "generate"):
        from diffusers import AsymmetricAutoencoderKL

        models["vae"] = build(lambda: AsymmetricAutoencoderKL(**configs["vae"])).eval()
    if a.case == "generate":
        from transformers import Qwen3_5TextConfig, Qwen3_5TextModel

        cfg = Qwen3_5TextConfig(**configs["qwen"])
        models["text"] = build(lambda: Qwen3_5TextModel._from_config(cfg, attn_implementation="sdpa", dtype=dtype)).eval()
    sync()
    setup_s = time.perf_counter() - t0
    params = sum(p.numel() for m in models.values() for p in m.parameters())
    log(f"{a.case}: {params / 1e6:.1f} M parameters built on {dev} in {setup_s:.1f} s")

    ch = configs["unet"]["in_channels"] if "unet" in models else configs["vae"]["latent_channels"]
    ctx_dim = configs["unet"].get("cross_attention_dim", 2048) if "unet" in models else 0
    g = torch.Generator(device=dev).manual_seed(a.seed + 1)

    def cond_inputs():
        ctx = torch.randn(a.batch, a.tokens, ctx_dim, generator=g, device=dev).to(dtype)
        mask = torch.zeros(a.batch, a.tokens, device=dev, dtype=dtype)
        mask[:, : max(1, round(a.tokens / 4))] = 1
        return ctx, mask

    if a.case == "unet-step":
        x = torch.randn(a.batch, ch, a.latent, a.latent, generator=g, device=dev).to(dtype)
        ctx, mask = cond_inputs()

        def call():
            return models["unet"](x, 500.0, encoder_hidden_states=ctx, encoder_attention_mask=mask).sample

    elif a.case == "vae-decode":
        z = torch.randn(1, ch, a.latent, a.latent, generator=g, device=dev).to(dtype)

        def call():
            return models["vae"].decode(z).sample

    else:
        from diffusers import FlowMatchEulerDiscreteScheduler

        vocab = configs["qwen"]["vocab_size"]
        ids = torch.randint(0, vocab, (2, a.tokens), generator=g, device=dev)
        attn = torch.ones(2, a.tokens, dtype=torch.long, device=dev)
        noise = torch.randn(1, configs["vae"]["latent_channels"], a.latent, a.latent, generator=g, device=dev).to(dtype)

        def call():
            hs = models["text"](input_ids=ids, attention_mask=attn, output_hidden_states=True, use_cache=False).hidden_states[-2]
            mask = attn.to(dtype)
            sched = FlowMatchEulerDiscreteScheduler(shift=5.0)
            sched.set_timesteps(a.steps, device=dev)
            lat = noise.clone()
            for t in sched.timesteps:
                v = models["unet"](torch.cat([lat, lat]), t, encoder_hidden_states=hs, encoder_attention_mask=mask).sample
                vu, vc = v.chunk(2)
                lat = sched.step(vu + a.cfg * (vc - vu), t, lat).prev_sample
            img = models["vae"].decode(lat).sample
            return ((img.clamp(-1, 1) + 1) * 127.5).to(torch.uint8).cpu()

    times = []
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    with torch.inference_mode():
        t = time.perf_counter()
        out = call()
        sync()
        first_s = time.perf_counter() - t
        shape = list(out.shape)
        for _ in range(a.runs):
            t = time.perf_counter()
            out = call()
            sync()
            times.append(time.perf_counter() - t)
    finite = bool(torch.isfinite(out.float()).all().item())
    result = {
        "case": a.case,
        "device": str(dev),
        "dtype": a.dtype,
        "params": params,
        "setup_s": setup_s,
        "first_s": first_s,
        "steady_s": statistics.median(times) if times else None,
        "times_s": times,
        "output_shape": shape,
        "finite": finite,
        "peak_alloc_mib": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
    }
    try:
        import diffusers

        result["diffusers"] = diffusers.__version__
    except Exception:  # noqa: BLE001
        pass
    if a.case == "generate":
        import transformers

        result["transformers"] = transformers.__version__
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
