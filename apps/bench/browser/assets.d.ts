// Vite's `?url` imports (the tfjs-wasm binaries the page hands to setWasmPaths): a URL string.
declare module '*?url' {
  const url: string;
  export default url;
}
