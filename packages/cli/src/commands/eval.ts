import { promises as fs } from 'node:fs';
import path from 'node:path';
import { formatVaeReport, psnrChartSvg, vaeReportCsv, vaeReportJson, type VaeEvalMode } from '@sdxs/vae';
import { evaluateVaeFolder } from '@sdxs/vae/node';
import { dtypeArg } from '../args.js';
import { UsageError } from '../cli-error.js';
import { BACKEND_OPTIONS, defineCommand, DTYPE_OPTION, flag, text } from '../define-command.js';
import { progressFor } from '../io.js';
import { writeFileAtomic } from '../output.js';
import { DEFAULT_VAE_MODEL, loadVae, modelSource } from './upscale.js';

export const evalCommand = defineCommand({
  name: 'eval',
  summary: 'model quality reports: `sdxs eval vae --images <folder>` (MSE, PSNR, edge error, KL)',
  usage: `sdxs eval vae --images <folder> [options]

The VAE quality report of the original (Python) SDXS project: each image is encoded (posterior mean) and
decoded, then scored against the original image. Prints the averages as that project's table line

  MSE=… PSNR=… LPIPS=… Edge=… KL=…

and writes per-image scores (CSV and JSON) and a chart of per-image PSNR (SVG).

  Metrics (pixels in [0, 1]): MSE; PSNR = 10·log10(1/MSE), averaged per image; Edge = mean |Sobel gradient
  magnitude of the reconstruction − that of the original| per channel over interior pixels; KL = mean over
  latent elements of KL(N(mean, exp(logvar)) ‖ N(0, 1)). LPIPS is not available: sdxs has no LPIPS network
  (the column reads n/a, and stderr says so).`,
  subcommand: { word: 'vae', unknown: (got) => `sdxs eval: unknown report '${got}'; use: sdxs eval vae --images <folder>` },
  options: {
    images: text('<folder>', 'folder of images (.png .jpg .jpeg .webp .avif .tif .tiff; not recursive)'),
    mode: text(
      '<m>',
      `reconstruct (default): the image centre-cropped to a multiple of the decoder
scale, shrunk by the upscale factor (block means), encoded and decoded back to
its size (the original project's "reconstruction at 16x"); upscale: encoded as is, decoded
2x and compared with the original resized (bilinear) to the output size`,
    ),
    model: text('<dir|repo>', `VAE folder or hub repo id (default ${DEFAULT_VAE_MODEL}, subfolder vae)`),
    subfolder: text('<name>', 'subfolder of --model holding the VAE (default: vae when present)'),
    out: text('<dir>', 'write vae-eval.csv, vae-eval.json and vae-eval-psnr.svg here (default: none)'),
    ...BACKEND_OPTIONS,
    ...DTYPE_OPTION,
    json: flag('print the JSON report on stdout instead of the table line'),
    quiet: flag('no progress bar', 'q'),
  },
  async run({ values: v, positionals, io, selectBackend }) {
    if (positionals.length) throw new UsageError(`sdxs eval vae: unexpected argument '${positionals[0]}' (the folder goes after --images)`);
    if (!v.images) throw new UsageError('sdxs eval vae: --images <folder> is required');
    const mode = (v.mode ?? 'reconstruct') as VaeEvalMode;
    if (mode !== 'reconstruct' && mode !== 'upscale') throw new UsageError(`sdxs eval vae: --mode must be reconstruct or upscale, got '${v.mode}'`);
    const dtype = dtypeArg('eval vae', v.dtype);
    await selectBackend();
    const vae = await loadVae(modelSource(io.cwd, v.model), v.subfolder, dtype, io.signal);
    try {
      const bar = progressFor(io, 'eval vae', { json: v.json, quiet: v.quiet, unit: 'images' });
      const report = await evaluateVaeFolder(vae, path.resolve(io.cwd, v.images), { mode, signal: io.signal, onProgress: (p) => bar.update(p.done, p.total) });
      bar.done();
      if (v.out) {
        const dir = path.resolve(io.cwd, v.out);
        await fs.mkdir(dir, { recursive: true });
        const enc = new TextEncoder();
        await writeFileAtomic(path.join(dir, 'vae-eval.csv'), enc.encode(vaeReportCsv(report)));
        await writeFileAtomic(path.join(dir, 'vae-eval.json'), enc.encode(`${JSON.stringify(vaeReportJson(report), null, 2)}\n`));
        await writeFileAtomic(path.join(dir, 'vae-eval-psnr.svg'), enc.encode(psnrChartSvg(report)));
      }
      if (v.json) io.stdout.write(`${JSON.stringify(vaeReportJson(report))}\n`);
      else {
        io.stdout.write(`${formatVaeReport(report)}\n`);
        if (report.lpipsReason) io.stderr.write(`LPIPS: n/a (${report.lpipsReason})\n`);
      }
      return 0;
    } finally {
      vae.dispose();
    }
  },
});
