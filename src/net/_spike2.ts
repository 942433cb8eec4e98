const orig = globalThis.setTimeout;
let tracing = false;
(globalThis as any).setTimeout = (fn: any, ms: any, ...rest: any[]) => {
  const t = orig(fn, ms, ...rest);
  if (tracing && ms >= 500)
    console.log('setTimeout', ms, new Error().stack?.split('\n').slice(2, 7).join('\n'));
  return t;
};
(globalThis as any).__trace = (v: boolean) => {
  tracing = v;
};
await import('./_spike.ts');
