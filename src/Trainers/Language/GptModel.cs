using Aigc.MLNet.Onnx.Gpt2;
using TorchSharp;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Language;

/// <summary>
/// A GPT language model with exactly GPT-2's architecture and parameter names (<c>transformer.wte.weight</c>,
/// <c>transformer.h.{i}.attn.c_attn.weight</c> in Conv1D [in, out] layout, ..., <c>transformer.ln_f.*</c>), with the
/// language-model head tied to the token embedding. A Hugging Face GPT-2 <c>model.safetensors</c> loads into it, and its
/// weights go straight into the ONNX graph builder.
/// </summary>
public sealed class GptModel : nn.Module<Tensor, Tensor>, ICausalLanguageModel
{
#pragma warning disable IDE1006
    private readonly GptBackbone transformer;
#pragma warning restore IDE1006

    /// <summary>Creates a model with GPT-2's initialisation (normal, std <see cref="Gpt2Config.InitializerRange"/>).</summary>
    /// <param name="config">Layers, heads, width, context length (block size) and vocabulary.</param>
    /// <param name="dropout">Dropout on embeddings, attention weights and residual branches while training.</param>
    public GptModel(Gpt2Config config, double dropout = 0.0) : base(nameof(GptModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (dropout is < 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "dropout must be in [0, 1).");
        Config = config;
        transformer = new GptBackbone(config, dropout);
        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public Gpt2Config Config { get; }

    /// <inheritdoc />
    public int? MaxContext => Config.MaxPositions;

    /// <inheritdoc />
    public string Architecture => $"Gpt:L{Config.NumLayers}:H{Config.NumHeads}:E{Config.EmbeddingSize}:P{Config.MaxPositions}:V{Config.VocabSize}:M{Config.MlpSize}";

    /// <summary>Logits [batch, time, vocab] for token ids [batch, time] (time ≤ the context length).</summary>
    /// <param name="ids">Int64 token ids.</param>
    public override Tensor forward(Tensor ids)
    {
        if (ids.dim() != 2)
            throw new ArgumentException($"GptModel expects token ids of shape [batch, time]; got [{string.Join(", ", ids.shape)}].", nameof(ids));
        if (ids.shape[1] > Config.MaxPositions)
            throw new ArgumentException($"The sequence has {ids.shape[1]} tokens; the model's context (MaxPositions) is {Config.MaxPositions}.", nameof(ids));
        Tensor hidden = transformer.forward(ids);
        return torch.matmul(hidden, transformer.TokenEmbedding.t());
    }

    /// <summary>Mean cross-entropy of next-token prediction: logits for <paramref name="ids"/> against <paramref name="targets"/> (same shape).</summary>
    /// <param name="ids">Input token ids [batch, time].</param>
    /// <param name="targets">Target token ids [batch, time], usually the inputs shifted by one.</param>
    public Tensor Loss(Tensor ids, Tensor targets)
    {
        using Tensor logits = forward(ids);
        return nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), targets.view(-1));
    }

    /// <summary>Copies the parameters out under their Hugging Face GPT-2 names, ready for <see cref="Gpt2GraphBuilder"/>.</summary>
    public Gpt2Weights ToGpt2Weights()
    {
        var weights = new Gpt2Weights(Config);
        foreach (var (name, parameter) in named_parameters())
        {
            using var cpu = parameter.detach().cpu().to_type(ScalarType.Float32).contiguous();
            weights.Set(name, cpu.data<float>().ToArray(), cpu.shape.Select(d => (int)d).ToArray());
        }
        weights.Validate();
        return weights;
    }

    /// <summary>Loads parameters from GPT-2-named weights (e.g. a Hugging Face checkpoint read from safetensors).</summary>
    /// <param name="weights">Weights whose config matches <see cref="Config"/>.</param>
    public void Load(Gpt2Weights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        weights.Validate();
        using var noGrad = torch.no_grad();
        foreach (var (name, parameter) in named_parameters())
        {
            var expected = weights.ExpectedShape(name)
                ?? throw new ArgumentException($"The weights have no tensor '{name}'.", nameof(weights));
            if (!expected.Select(d => (long)d).SequenceEqual(parameter.shape))
                throw new ArgumentException($"Tensor '{name}' has shape [{string.Join(", ", expected)}]; the model expects [{string.Join(", ", parameter.shape)}].", nameof(weights));
            using var source = torch.tensor(weights.Get(name), parameter.shape);
            parameter.copy_(source);
        }
    }
}
