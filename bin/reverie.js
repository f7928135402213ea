#!/usr/bin/env node
// In a checkout (src/ beside bin/) the CLI runs from the TypeScript sources through tsx's loader, so an edit
// takes effect without a build; an installed package has no src/ and runs the compiled dist/ (`npm run build`).
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const sources = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import('../dist/cli/main.js');
}
