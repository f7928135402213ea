#!/usr/bin/env node
// The CLI runs from the TypeScript sources through tsx's loader, so `npx reverie` works right after `npm install`.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
