#!/usr/bin/env bash
# The whole release, dry: what `changeset publish` would publish, package by package, with `npm publish
# --dry-run` (nothing leaves this machine; no login needed). Fails when a public package would publish
# without its built entry points or declarations, with source maps, sources or tests, without
# publishConfig.access "public", or when a workspace dependency's range does not accept the version in
# this repository. Run after `npm run build` (.ci/run: after `npm test`).
# An argument names another repository root to check (the tests point it at broken copies).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "${1:-$repo}"

for dir in packages/*/; do
  [ -f "$dir/package.json" ] || continue
  node -e 'process.exit(require(process.argv[1]).private ? 0 : 1)' "$PWD/$dir/package.json" && continue
  name=$(node -p 'require(process.argv[1]).name' "$PWD/$dir/package.json")
  if [ ! -f "$dir/dist/index.js" ]; then
    echo "publish dry run: $name has no dist/index.js: run npm run build first" >&2
    exit 1
  fi
  json=$(cd "$dir" && npm publish --dry-run --json --tag latest 2>/dev/null)
  PKG_DIR="$PWD/$dir" PACK_JSON="$json" node --input-type=module -e '
    import { readFileSync, readdirSync } from "node:fs";
    import path from "node:path";
    const dir = process.env.PKG_DIR;
    const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
    const out = JSON.parse(process.env.PACK_JSON);
    const info = out[pkg.name] ?? out;
    const files = info.files.map((f) => f.path);
    const problems = [];
    if (pkg.publishConfig?.access !== "public") problems.push("publishConfig.access is not \"public\" (a scoped package would publish as restricted)");
    // every file the exports map (and bin) names must be in the tarball
    const targets = [];
    const walk = (v) => (typeof v === "string" ? targets.push(v) : v && typeof v === "object" && Object.entries(v).forEach(([k, x]) => k !== "sdxs-source" && walk(x)));
    walk(pkg.exports);
    walk(pkg.bin);
    for (const f of [pkg.main, pkg.module, pkg.types]) if (f) targets.push(f);
    for (const t of new Set(targets)) {
      const f = path.posix.normalize(t);
      if (!files.includes(f)) problems.push(`${t} (named in package.json) is not in the tarball`);
    }
    const unwanted = files.filter((f) => /\.map$/.test(f) || /^(src|test|test-utils)\//.test(f) || /\.test\.[cm]?[jt]s$/.test(f));
    if (unwanted.length) problems.push(`unwanted files: ${unwanted.slice(0, 5).join(", ")}${unwanted.length > 5 ? ", ..." : ""}`);
    // internal dependencies must accept the versions that are published with them
    const versions = Object.fromEntries(readdirSync(path.join(dir, "..")).flatMap((d) => {
      try { const p = JSON.parse(readFileSync(path.join(dir, "..", d, "package.json"), "utf8")); return [[p.name, p.version]]; } catch { return []; }
    }));
    for (const field of ["dependencies", "optionalDependencies", "peerDependencies"]) {
      for (const [dep, range] of Object.entries(pkg[field] ?? {})) {
        const v = versions[dep];
        if (!v) continue;
        const m = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(range);
        const [maj, min, pat] = v.split(".").map(Number);
        const ok = range === v || (m && (+m[1] > 0 ? maj === +m[1] && (min > +m[2] || (min === +m[2] && pat >= +m[3])) : maj === 0 && min === +m[2] && pat >= +m[3]));
        if (!ok) problems.push(`${field}.${dep} is ${range}, which does not accept ${v} in this repository`);
      }
    }
    const warn = pkg.repository ? "" : " (no repository field: npm provenance needs one that names this GitHub repository)";
    if (problems.length) {
      console.error(`publish dry run: ${pkg.name}@${pkg.version}:\n  ${problems.join("\n  ")}`);
      process.exit(1);
    }
    console.log(`publish dry run: ${pkg.name}@${pkg.version}: ${files.length} files, ${(info.size / 1024).toFixed(0)} KiB packed, access public${warn}`);
  '
done
# `changeset version` in a scratch copy (package.json files and .changeset/ only): the pending changesets apply,
# and every internal range accepts the versions they produce.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp package.json "$scratch/" && cp -r .changeset "$scratch/"
for dir in packages/*/; do mkdir -p "$scratch/$dir" && cp "$dir/package.json" "$scratch/$dir"; done
(cd "$scratch" && git init -q && "$repo/node_modules/.bin/changeset" version >/dev/null)
SCRATCH="$scratch" node --input-type=module -e '
  import { readFileSync, readdirSync } from "node:fs";
  import path from "node:path";
  const dir = path.join(process.env.SCRATCH, "packages");
  const pkgs = readdirSync(dir).map((d) => JSON.parse(readFileSync(path.join(dir, d, "package.json"), "utf8")));
  const versions = Object.fromEntries(pkgs.map((p) => [p.name, p.version]));
  const bad = [];
  for (const p of pkgs) for (const field of ["dependencies", "optionalDependencies", "peerDependencies", "devDependencies"]) {
    for (const [dep, range] of Object.entries(p[field] ?? {})) {
      const v = versions[dep];
      if (v && range !== `^${v}` && range !== v && !(range.startsWith("^") && range.slice(1).split(".")[0] === v.split(".")[0] && v.split(".")[0] !== "0")) bad.push(`${p.name} ${field}.${dep} ${range} vs ${v}`);
    }
  }
  if (bad.length) { console.error(`publish dry run: after changeset version, internal ranges that miss the new versions:\n  ${bad.join("\n  ")}`); process.exit(1); }
  console.log(`publish dry run: changeset version would release ${pkgs.filter((p) => !p.private).map((p) => `${p.name}@${p.version}`).join(", ")}`);
'
echo "publish dry run: every public package would publish"
