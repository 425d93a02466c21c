// The dashboard's static files are bundled as text (wrangler.toml [[rules]] type "Text"): importing one gives its contents.
declare module '*.css' {
  const text: string;
  export default text;
}
declare module 'uplot/dist/uPlot.iife.min.js' {
  const text: string;
  export default text;
}
declare module '*/static/dashboard-client.js' {
  const text: string;
  export default text;
}
