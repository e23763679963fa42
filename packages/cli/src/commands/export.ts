import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { exportSdxsOnnx, ONNX_COMPONENTS, type OnnxComponent } from '@sdxs/pipeline';
import { intArg } from '../args.js';
import { parsePrecision } from '../backend-option.js';
import { UsageError } from '../cli-error.js';
import { defineCommand, flag, list, text } from '../define-command.js';

function components(values: string[] | undefined): OnnxComponent[] | undefined {
  if (!values?.length) return undefined;
  const parts = values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  for (const p of parts) {
    if (!(ONNX_COMPONENTS as readonly string[]).includes(p)) throw new UsageError(`sdxs export: --component must be one of ${ONNX_COMPONENTS.join(', ')} (got '${p}')`);
  }
  return [...new Set(parts)] as OnnxComponent[];
}

export const exportCommand = defineCommand({
  name: 'export',
  summary: 'write the model as ONNX files for other runtimes (sdxs export onnx)',
  usage: `sdxs export onnx <model> -o <dir> [options]

Write the model's parts as ONNX files for other runtimes: the graphs the ort-* backends compile, with their
weights in external data files (<part>/model.onnx + model.onnx.data + config.json) and a model_index.json
naming every input and output with its shape. The graphs are recorded at one size: every dimension
(batch, height, width, sequence) is fixed at export; export again for another size.`,
  args: [['<model>', 'SDXS model folder or hub repo id (e.g. a folder from sdxs make-tiny-model)']],
  options: {
    output: text('<dir>', 'folder to write (must be empty or new unless --force)', 'o'),
    component: list('<part>', 'unet, vae-encoder, vae-decoder or text-encoder; repeat or comma-separate\n(default: all four)'),
    compute: text('<c>', 'f32 (default): float32 graphs; f16: float16 weights and products (norms,\nsoftmax and embeddings in float32; float32 inputs and outputs)'),
    portable: flag('standard ONNX only (no com.microsoft ops): passes onnx.checker and loads in\nruntimes other than ONNX Runtime (slower there than the fused ops)'),
    width: text('<px>', "image width (default 1024): the UNet's and the decoder's latents are W/16 wide,\nthe encoder takes a W-wide image (the upscaler: decoder at 2W)", 'W'),
    height: text('<px>', 'image height (default 1024), as --width', 'H'),
    batch: text('<n>', 'batch (default 1; 2 for one classifier-free-guidance UNet call)'),
    seq: text('<n>', "prompt tokens (default 248); the UNet's text states are seq + 1 long"),
    force: flag('write into a folder that is not empty', 'f'),
    json: flag('print the model_index.json on stdout'),
  },
  epilog: `  sdxs make-tiny-model tiny
  sdxs export onnx tiny -o tiny-onnx -W 256 -H 256`,
  async run({ values: v, positionals, io }) {
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
});
