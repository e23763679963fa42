#!/usr/bin/env python3
"""PyTorch reference timings for SDXS-1B's parts, to set beside the sdxs-ts benchmarks on the same machine.

Real configs (the ones benchmarks/*.bench.ts use), seeded random weights (the libraries' own initialisers
under torch.manual_seed), CPU, `--threads` intra-op threads (default 2). Each (case, dtype) runs in a fresh
subprocess: build the model, 1 warm-up call, then `--runs` timed calls; the median is reported, with the
peak RSS of the build (VmHWM) and of the calls: the high-water mark is reset (/proc/self/clear_refs) just
before the warm-up, so the child's ru_maxrss (from wait4) and VmHWM then measure the calls alone (the
weights included). One JSON document goes to stdout; progress goes to stderr.

Cases
  vae-decode-32-512   diffusers AsymmetricAutoencoderKL decode of a [1,32,32,32] latent -> [1,3,512,512]
  unet-step-32-b2     diffusers UNet2DConditionModel, one forward: latent [2,32,32,32], float timestep 500,
                      encoder_hidden_states [2,249,2048], encoder_attention_mask [2,249]
  unet-step-64-b2     the same at a [2,32,64,64] latent (a 1024x1024 image)
  qwen-encode-248     transformers Qwen3_5TextModel (Qwen3.5-2B text config), [1,248] tokens,
                      output_hidden_states=True (the pipeline takes hidden_states[-2]); all 24 layers run
  qwen-encode-248-23l the same with the last layer dropped (only what hidden_states[-2] needs; what
                      benchmarks/text-qwen.bench.ts extrapolates: 18 DeltaNet + 5 attention layers) (optional)
  vae-upscale-2048    AsymmetricAutoencoderKL encode [1,3,1024,1024] -> latent mode -> decode -> [1,3,2048,2048]
                      (optional: minutes per call and ~10+ GB)

Dtypes
  fp32           float32 weights and inputs
  bf16           bfloat16 weights and inputs (built directly in bf16, so no fp32 copy inflates the RSS)
  bf16-autocast  float32 weights, torch.autocast('cpu', dtype=torch.bfloat16)

  python3 bench.py [--cases a,b] [--dtypes fp32,bf16] [--runs 3] [--threads 2] [--seed 1234]
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

ALL_CASES = ["vae-decode-32-512", "unet-step-32-b2", "unet-step-64-b2", "qwen-encode-248", "qwen-encode-248-23l", "vae-upscale-2048"]
DEFAULT_CASES = ["vae-decode-32-512", "unet-step-32-b2", "qwen-encode-248"]
DTYPES = ["fp32", "bf16", "bf16-autocast"]

# benchmarks/vae.bench.ts / shared/SPEC.md
VAE_CONFIG = dict(
    in_channels=3,
    out_channels=3,
    down_block_types=["DownEncoderBlock2D"] * 4,
    down_block_out_channels=[128, 256, 512, 512],
    layers_per_down_block=2,
    up_block_types=["UpDecoderBlock2D"] * 5,
    up_block_out_channels=[128, 128, 256, 512, 512],
    layers_per_up_block=2,
    act_fn="silu",
    latent_channels=32,
    norm_num_groups=32,
    sample_size=1024,
    scaling_factor=1.0,
)

# REAL_CONFIG in benchmarks/unet.bench.ts, verbatim
UNET_CONFIG = dict(
    in_channels=32,
    out_channels=32,
    block_out_channels=[320, 640, 1280, 1536],
    layers_per_block=[4, 3, 2, 2],
    transformer_layers_per_block=[2, 2, 3, 4],
    down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    mid_block_type="UNetMidBlock2DCrossAttn",
    cross_attention_dim=2048,
    attention_head_dim=[5, 10, 20, 24],
    use_linear_projection=True,
    norm_num_groups=32,
    norm_eps=1e-5,
    flip_sin_to_cos=True,
    freq_shift=0,
)

# QWEN35_2B in benchmarks/text-qwen.bench.ts, verbatim
QWEN_CONFIG = dict(
    vocab_size=248320,
    hidden_size=2048,
    intermediate_size=6144,
    num_hidden_layers=24,
    layer_types=["full_attention" if (i + 1) % 4 == 0 else "linear_attention" for i in range(24)],
    num_attention_heads=8,
    num_key_value_heads=2,
    head_dim=256,
    linear_num_key_heads=16,
    linear_num_value_heads=16,
    linear_key_head_dim=128,
    linear_value_head_dim=128,
    linear_conv_kernel_dim=4,
    rms_norm_eps=1e-6,
    rope_parameters={"rope_type": "default", "rope_theta": 1e7, "partial_rotary_factor": 0.25},
    tie_word_embeddings=True,
)


def log(msg):
    print(f"[bench.py] {msg}", file=sys.stderr, flush=True)


def rss_mb(field):
    """VmRSS / VmHWM of this process in MiB (None where /proc is not mounted)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_rss():
    """Reset VmHWM (Linux >= 4.0: writing 5 to clear_refs). True if it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------- worker


def build(case, dtype, seed):
    """Returns (model, inputs thunk, call(model, inputs), info dict)."""
    import torch

    torch.manual_seed(seed)
    weight_dtype = torch.bfloat16 if dtype == "bf16" else torch.float32
    act_dtype = weight_dtype
    info = {}

    def with_default_dtype(fn):
        prev = torch.get_default_dtype()
        torch.set_default_dtype(weight_dtype)
        try:
            return fn()
        finally:
            torch.set_default_dtype(prev)

    if case in ("vae-decode-32-512", "vae-upscale-2048"):
        from diffusers import AsymmetricAutoencoderKL

        model = with_default_dtype(lambda: AsymmetricAutoencoderKL(**VAE_CONFIG))
        g = torch.Generator().manual_seed(seed + 1)
        if case == "vae-decode-32-512":
            z = torch.randn(1, 32, 32, 32, generator=g).to(act_dtype)
            call = lambda m, x: m.decode(x).sample  # noqa: E731
            inputs = z
            info["input"] = "latent [1,32,32,32]"
        else:
            img = (torch.rand(1, 3, 1024, 1024, generator=g) * 2 - 1).to(act_dtype)

            def call(m, x):
                latent = m.encode(x).latent_dist.mode()
                return m.decode(latent).sample

            inputs = img
            info["input"] = "image [1,3,1024,1024] -> latent [1,32,128,128]"
    elif case in ("unet-step-32-b2", "unet-step-64-b2"):
        from diffusers import UNet2DConditionModel

        model = with_default_dtype(lambda: UNet2DConditionModel(**UNET_CONFIG))
        g = torch.Generator().manual_seed(seed + 1)
        side = 32 if case == "unet-step-32-b2" else 64
        x = torch.randn(2, 32, side, side, generator=g).to(act_dtype)
        ctx = torch.randn(2, 249, 2048, generator=g).to(act_dtype)
        # pipeline layout: [pooled, tokens...] with right padding; 1 = keep. 60 real tokens here.
        mask = torch.zeros(2, 249, dtype=act_dtype)
        mask[:, :61] = 1
        call = lambda m, inp: m(inp[0], 500.0, encoder_hidden_states=inp[1], encoder_attention_mask=inp[2]).sample  # noqa: E731
        inputs = (x, ctx, mask)
        info["input"] = f"latent [2,32,{side},{side}], t=500.0, ctx [2,249,2048], mask [2,249] (61 ones)"
    elif case in ("qwen-encode-248", "qwen-encode-248-23l"):
        from transformers import Qwen3_5TextConfig, Qwen3_5TextModel

        cfg = dict(QWEN_CONFIG)
        if case.endswith("-23l"):
            cfg["num_hidden_layers"] = 23
            cfg["layer_types"] = cfg["layer_types"][:23]
        config = Qwen3_5TextConfig(**cfg)
        model = Qwen3_5TextModel._from_config(config, attn_implementation="sdpa", dtype=weight_dtype)
        g = torch.Generator().manual_seed(seed + 1)
        ids = torch.randint(0, 248320, (1, 248), generator=g)
        attn = torch.ones(1, 248, dtype=torch.long)

        def call(m, inp):
            out = m(input_ids=inp[0], attention_mask=inp[1], output_hidden_states=True, use_cache=False)
            return out.hidden_states[-2]

        inputs = (ids, attn)
        info["input"] = "input_ids [1,248], attention_mask all ones"
        info["layers_run"] = cfg["num_hidden_layers"]
        info["attn_implementation"] = model.config._attn_implementation
    else:
        raise SystemExit(f"unknown case {case}")
    model.eval()
    info["parameters"] = sum(p.numel() for p in model.parameters())
    info["param_dtypes"] = sorted({str(p.dtype).replace("torch.", "") for p in model.parameters()})
    return model, inputs, call, info


def worker(args):
    import torch

    torch.set_num_threads(args.threads)
    if args.flush_denormal:
        torch.set_flush_denormal(True)
    case, dtype = args.worker
    t0 = time.perf_counter()
    model, inputs, call, info = build(case, dtype, args.seed)
    build_s = time.perf_counter() - t0
    rss_after_build = rss_mb("VmRSS")
    log(f"{case} {dtype}: built in {build_s:.1f} s, {info['parameters'] / 1e6:.1f} M parameters, RSS {rss_after_build:.0f} MiB")

    def once():
        with torch.inference_mode():
            if dtype == "bf16-autocast":
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    out = call(model, inputs)
            else:
                out = call(model, inputs)
        return out

    peak_build = rss_mb("VmHWM")
    reset_ok = reset_peak_rss()
    load0 = os.getloadavg()[0]
    t = time.perf_counter()
    out = once()
    warm = time.perf_counter() - t
    log(f"{case} {dtype}: warm-up {warm:.2f} s, output {list(out.shape)} {out.dtype}")
    times, cpu = [], []
    for i in range(args.runs):
        c = time.process_time()
        t = time.perf_counter()
        out = once()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        log(f"{case} {dtype}: run {i + 1}/{args.runs} {times[-1]:.2f} s wall, {cpu[-1]:.2f} s CPU")
    outf = out.float()
    result = dict(
        case=case,
        dtype=dtype,
        median_s=round(statistics.median(times), 4),
        times_s=[round(x, 4) for x in times],
        warmup_s=round(warm, 4),
        # process CPU time (all threads) per timed call: on a shared machine wall time includes waiting for
        # a core; cpu_s / threads is the wall time an uncontended run would approach
        median_cpu_s=round(statistics.median(cpu), 4),
        cpu_s=[round(x, 4) for x in cpu],
        loadavg_1m=[round(load0, 2), round(os.getloadavg()[0], 2)],
        build_s=round(build_s, 2),
        rss_after_build_mb=round(rss_after_build, 1) if rss_after_build else None,
        peak_rss_build_mb=round(peak_build, 1) if peak_build else None,
        peak_rss_calls_mb=round(rss_mb("VmHWM"), 1) if reset_ok else None,
        output_shape=list(out.shape),
        output_finite=bool(torch.isfinite(outf).all()),
        output_abs_mean=float(outf.abs().mean()),
        **info,
    )
    print(json.dumps(result), flush=True)


# ---------------------------------------------------------------------------------------------- parent


def meta(threads):
    import torch

    def version(mod):
        try:
            return __import__(mod).__version__
        except Exception as e:  # noqa: BLE001
            return f"unavailable ({type(e).__name__})"

    cfg = torch.__config__.show()
    blas = [line.strip() for line in cfg.splitlines() if "BLAS" in line or "LAPACK" in line]
    torch.set_num_threads(threads)
    cpu_model = None
    try:
        with open("/proc/cpuinfo") as f:
            cpu_model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
    except OSError:
        pass
    return dict(
        torch=torch.__version__,
        diffusers=version("diffusers"),
        transformers=version("transformers"),
        huggingface_hub=version("huggingface_hub"),
        numpy=version("numpy"),
        python=platform.python_version(),
        threads=torch.get_num_threads(),
        interop_threads=torch.get_num_interop_threads(),
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        mkldnn=torch.backends.mkldnn.is_available(),
        blas=blas,
        cpu=cpu_model,
        nproc=os.cpu_count(),
    )


def run_case(case, dtype, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", case, dtype,
           "--runs", str(args.runs), "--threads", str(args.threads), "--seed", str(args.seed)]
    if args.flush_denormal:
        cmd.append("--flush-denormal")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return dict(case=case, dtype=dtype, error=f"worker exited {proc.returncode}", wall_s=round(wall, 1),
                    peak_rss_mb=round(usage.ru_maxrss / 1024, 1))
    res = json.loads(lines[-1])
    # ru_maxrss (KiB on Linux) reads the same high-water mark that the worker resets before its warm-up, so
    # where the reset worked it is the calls' peak; peak_rss_build_mb has the build's
    res["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    res["wall_s"] = round(wall, 1)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=",".join(DEFAULT_CASES), help=f"comma list of {ALL_CASES} or 'all'")
    ap.add_argument("--dtypes", default="fp32,bf16", help=f"comma list of {DTYPES}")
    ap.add_argument("--runs", type=int, default=3, help="timed runs after 1 warm-up (median reported)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--flush-denormal", action="store_true", help="torch.set_flush_denormal(True)")
    ap.add_argument("--worker", nargs=2, metavar=("CASE", "DTYPE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    cases = ALL_CASES if args.cases == "all" else [c for c in args.cases.split(",") if c]
    dtypes = [d for d in args.dtypes.split(",") if d]
    for c in cases:
        if c not in ALL_CASES:
            ap.error(f"unknown case {c}")
    for d in dtypes:
        if d not in DTYPES:
            ap.error(f"unknown dtype {d}")
    doc = dict(
        suite="pytorch-reference",
        date=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        runs=args.runs,
        warmup=1,
        seed=args.seed,
        flush_denormal=args.flush_denormal,
        meta=meta(args.threads),
        results=[],
    )
    log(f"torch {doc['meta']['torch']}, {doc['meta']['threads']} threads, {doc['meta']['cpu_capability']}")
    for case in cases:
        for dtype in dtypes:
            log(f"--- {case} {dtype}")
            res = run_case(case, dtype, args)
            log(json.dumps(res))
            doc["results"].append(res)
    doc["parent_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    sys.exit(main())
