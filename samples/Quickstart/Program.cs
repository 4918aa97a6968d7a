// The README's main job, on a fresh machine with no arguments:
//   fetch data if needed -> train a small GAN and a small VAE on MNIST -> PNG sample grids -> train a small char-level GPT
//   on Tiny Shakespeare -> export it to ONNX -> generate text over a few prompts with ONNX Runtime -> evaluate
//   (perplexity, classifier score, FID) -> summary table and where the files are (artifacts/quickstart/).
// The same job is `aigc quickstart`; options: --out DIR, --scale X (step multiplier), --threads N.
using Aigc.MLNet.Cli;

return await AigcApp.RunAsync(["quickstart", .. args]);
