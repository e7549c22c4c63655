#!/usr/bin/env bash
# The one-step install, as a new user does it: the packed tarballs of core and the Express and
# Fastify adapters, installed with npm into an empty project together with Nest 11 on both
# platforms. Passes when npm installs one copy of each framework (the one Nest pins) and tsc
# compiles app.ts, which registers the sessions as the READMEs show.
# Needs the packages built (`pnpm build`) and the npm registry (npm's cache makes a rerun fast).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/x-session-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$SECONDS

# The versions the workspace tests against, so npm's cache serves a rerun.
version() { node -p "require('$root/integration-nest/node_modules/$1/package.json').version"; }
deps=(
  "@nestjs/common@$(version @nestjs/common)"
  "@nestjs/core@$(version @nestjs/core)"
  "@nestjs/platform-express@$(version @nestjs/platform-express)"
  "@nestjs/platform-fastify@$(version @nestjs/platform-fastify)"
  "reflect-metadata@$(version reflect-metadata)"
  "rxjs@$(version rxjs)"
  "@types/node@$(node -p "require('$root/node_modules/@types/node/package.json').version")"
)

for pkg in core express fastify; do
  if [[ ! -f "$root/packages/$pkg/dist/index.js" ]]; then
    echo "error: packages/$pkg is not built: run \`pnpm build\` first" >&2
    exit 1
  fi
  (cd "$root/packages/$pkg" && pnpm pack --pack-destination "$work" >/dev/null)
done

cd "$work"
cp "$here/app.ts" "$here/tsconfig.json" .
printf '{ "name": "one-step-install", "private": true }\n' >package.json
timeout 300 npm install --no-audit --no-fund --prefer-offline --loglevel=error \
  ./x-session-core-*.tgz ./x-session-express-*.tgz ./x-session-fastify-*.tgz "${deps[@]}"

status=0
for framework in fastify express; do
  copies=$(find . -path "*/node_modules/$framework/package.json" | wc -l)
  if [[ "$copies" -ne 1 ]]; then
    echo "error: npm installed $copies copies of $framework:" >&2
    find . -path "*/node_modules/$framework/package.json" >&2
    status=1
  fi
done
node "$root/node_modules/typescript/bin/tsc" -p tsconfig.json || status=$?

echo "one-step install: $([[ $status -eq 0 ]] && echo passed || echo FAILED) in $((SECONDS - start))s"
exit "$status"
