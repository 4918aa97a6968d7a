using Aigc.MLNet.Onnx.Gpt2;

namespace Aigc.MLNet.Onnx.Tests.Gpt2;

/// <summary>A plain-loop GPT-2 forward pass (one unpadded sequence, no cache), independent of the ONNX graph.</summary>
internal static class Gpt2Reference
{
    public static float[,] Forward(Gpt2Weights w, IReadOnlyList<long> ids)
    {
        Gpt2Config c = w.Config;
        int S = ids.Count, E = c.EmbeddingSize, H = c.NumHeads, D = c.HeadSize, M = c.MlpSize, V = c.VocabSize;
        float[] wte = w.Get("transformer.wte.weight"), wpe = w.Get("transformer.wpe.weight");
        var h = new double[S, E];
        for (int t = 0; t < S; t++)
            for (int e = 0; e < E; e++)
                h[t, e] = wte[ids[t] * E + e] + wpe[t * E + e];

        for (int l = 0; l < c.NumLayers; l++)
        {
            string p = $"transformer.h.{l}.";
            double[,] x = LayerNorm(h, w.Get(p + "ln_1.weight"), w.Get(p + "ln_1.bias"), c.LayerNormEpsilon);
            double[,] qkv = Linear(x, w.Get(p + "attn.c_attn.weight"), w.Get(p + "attn.c_attn.bias"), E, 3 * E);
            var ctx = new double[S, E];
            for (int head = 0; head < H; head++)
            {
                for (int t = 0; t < S; t++)
                {
                    var scores = new double[t + 1];
                    double max = double.NegativeInfinity;
                    for (int u = 0; u <= t; u++)
                    {
                        double s = 0;
                        for (int d = 0; d < D; d++)
                            s += qkv[t, head * D + d] * qkv[u, E + head * D + d];
                        scores[u] = s / Math.Sqrt(D);
                        max = Math.Max(max, scores[u]);
                    }
                    double sum = 0;
                    for (int u = 0; u <= t; u++) { scores[u] = Math.Exp(scores[u] - max); sum += scores[u]; }
                    for (int d = 0; d < D; d++)
                    {
                        double acc = 0;
                        for (int u = 0; u <= t; u++) acc += scores[u] / sum * qkv[u, 2 * E + head * D + d];
                        ctx[t, head * D + d] = acc;
                    }
                }
            }
            double[,] a = Linear(ctx, w.Get(p + "attn.c_proj.weight"), w.Get(p + "attn.c_proj.bias"), E, E);
            Add(h, a);
            double[,] y = LayerNorm(h, w.Get(p + "ln_2.weight"), w.Get(p + "ln_2.bias"), c.LayerNormEpsilon);
            double[,] fc = Linear(y, w.Get(p + "mlp.c_fc.weight"), w.Get(p + "mlp.c_fc.bias"), E, M);
            for (int t = 0; t < S; t++)
                for (int j = 0; j < M; j++)
                {
                    double v = fc[t, j];
                    fc[t, j] = 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
                }
            Add(h, Linear(fc, w.Get(p + "mlp.c_proj.weight"), w.Get(p + "mlp.c_proj.bias"), M, E));
        }
        double[,] f = LayerNorm(h, w.Get("transformer.ln_f.weight"), w.Get("transformer.ln_f.bias"), c.LayerNormEpsilon);
        var logits = new float[S, V];
        for (int t = 0; t < S; t++)
            for (int v = 0; v < V; v++)
            {
                double s = 0;
                for (int e = 0; e < E; e++) s += f[t, e] * wte[v * E + e];
                logits[t, v] = (float)s;
            }
        return logits;
    }

    private static void Add(double[,] h, double[,] a)
    {
        for (int i = 0; i < h.GetLength(0); i++)
            for (int j = 0; j < h.GetLength(1); j++) h[i, j] += a[i, j];
    }

    private static double[,] Linear(double[,] x, float[] w, float[] b, int nIn, int nOut)
    {
        int S = x.GetLength(0);
        var y = new double[S, nOut];
        for (int t = 0; t < S; t++)
            for (int o = 0; o < nOut; o++)
            {
                double s = b[o];
                for (int i = 0; i < nIn; i++) s += x[t, i] * w[i * nOut + o];
                y[t, o] = s;
            }
        return y;
    }

    private static double[,] LayerNorm(double[,] x, float[] g, float[] b, float eps)
    {
        int S = x.GetLength(0), E = x.GetLength(1);
        var y = new double[S, E];
        for (int t = 0; t < S; t++)
        {
            double mean = 0, var = 0;
            for (int e = 0; e < E; e++) mean += x[t, e];
            mean /= E;
            for (int e = 0; e < E; e++) var += (x[t, e] - mean) * (x[t, e] - mean);
            var /= E;
            for (int e = 0; e < E; e++) y[t, e] = (x[t, e] - mean) / Math.Sqrt(var + eps) * g[e] + b[e];
        }
        return y;
    }
}
