#!/usr/bin/env node
// Entry point of the `vigil` command; the implementation is compiled to dist/ by `npm run build`.
import '../dist/main.js';
