import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { exportSdxsOnnx, ONNX_COMPONENTS, type OnnxComponent } from '@sdxs/pipeline';
import { intArg, parse } from '../args.js';
import { parsePrecision } from '../backend-option.js';
import { UsageError } from '../cli-error.js';
import type { CliIo, Command } from '../io.js';

const help = `sdxs export onnx <model> -o <dir> [options]

Write the model's parts as ONNX files for other runtimes: the graphs the ort-* backends compile, with their
weights in external data files (<part>/model.onnx + model.onnx.data + config.json) and a model_index.json
naming every input and output with its shape. The graphs are recorded at one size: every dimension
(batch, height, width, sequence) is fixed at export; export again for another size.

  <model>                   SDXS model folder or hub repo id (e.g. a folder from sdxs make-tiny-model)
  -o, --output <dir>        folder to write (must be empty or new unless --force)
      --component <part>    unet, vae-encoder, vae-decoder or text-encoder; repeat or comma-separate
                            (default: all four)
      --compute <c>         f32 (default): float32 graphs; f16: float16 weights and products (norms,
                            softmax and embeddings in float32; float32 inputs and outputs)
      --portable            standard ONNX only (no com.microsoft ops): passes onnx.checker and loads in
                            runtimes other than ONNX Runtime (slower there than the fused ops)
  -W, --width <px>          image width (default 1024): the UNet's and the decoder's latents are W/16 wide,
                            the encoder takes a W-wide image (the upscaler: decoder at 2W)
  -H, --height <px>         image height (default 1024), as --width
      --batch <n>           batch (default 1; 2 for one classifier-free-guidance UNet call)
      --seq <n>             prompt tokens (default 248); the UNet's text states are seq + 1 long
  -f, --force               write into a folder that is not empty
      --json                print the model_index.json on stdout
  -h, --help                this text

  sdxs make-tiny-model tiny
  sdxs export onnx tiny -o tiny-onnx -W 256 -H 256`;

function components(values: string[] | undefined): OnnxComponent[] | undefined {
  if (!values?.length) return undefined;
  const parts = values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  for (const p of parts) {
    if (!(ONNX_COMPONENTS as readonly string[]).includes(p)) throw new UsageError(`sdxs export: --component must be one of ${ONNX_COMPONENTS.join(', ')} (got '${p}')`);
  }
  return [...new Set(parts)] as OnnxComponent[];
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'write the model as ONNX files for other runtimes (sdxs export onnx)',
  help,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values: v, positionals } = parse('export', argv, {
      output: { type: 'string', short: 'o' },
      component: { type: 'string', multiple: true },
      compute: { type: 'string' },
      portable: { type: 'boolean' },
      width: { type: 'string', short: 'W' },
      height: { type: 'string', short: 'H' },
      batch: { type: 'string' },
      seq: { type: 'string' },
      force: { type: 'boolean', short: 'f' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (v.help) {
      io.stdout.write(`${help}\n`);
      return 0;
    }
    const [format, model, ...extra] = positionals;
    if (format !== 'onnx') throw new UsageError(`sdxs export: the format comes first and onnx is the one there is: sdxs export onnx <model> -o <dir>${format ? ` (got '${format}')` : ''}`);
    if (!model || extra.length) throw new UsageError('sdxs export onnx: give one model (a folder or hub repo id), e.g. sdxs export onnx tiny -o tiny-onnx');
    if (!v.output) throw new UsageError('sdxs export onnx: give the folder to write with -o <dir>');
    const compute = parsePrecision('export', v.compute);
    const out = path.resolve(io.cwd, v.output);
    if (existsSync(out) && readdirSync(out).length > 0 && !v.force) throw new UsageError(`sdxs export: '${v.output}' is not empty; use --force to write into it`);
    const local = path.resolve(io.cwd, model);
    const index = await exportSdxsOnnx(existsSync(local) ? local : model, out, {
      components: components(v.component),
      compute,
      portable: v.portable ?? false,
      width: intArg('export', 'width', v.width, 1024),
      height: intArg('export', 'height', v.height, 1024),
      batch: intArg('export', 'batch', v.batch, 1),
      seq: intArg('export', 'seq', v.seq, 248),
      onProgress: (p) => {
        if (!v.json && p.phase === 'end') io.stderr.write(`exported ${p.component} (${(p.ms / 1000).toFixed(1)} s)\n`);
      },
    });
    io.stdout.write(v.json ? `${JSON.stringify(index)}\n` : `${out}\n`);
    return 0;
  },
};
