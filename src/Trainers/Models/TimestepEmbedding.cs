using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Models;

/// <summary>
/// Timestep embedding of the diffusion U-Net: the sinusoidal code of t (a fixed table over t = 0..T-1, computed in double
/// precision) followed by Linear → SiLU → Linear.
/// </summary>
public sealed class TimestepEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Linear hidden;
    private readonly Linear output;

    /// <summary>Creates the embedding.</summary>
    /// <param name="timesteps">T: the table covers t = 0..T-1.</param>
    /// <param name="sinusoidalSize">Width of the sinusoidal code (even).</param>
    /// <param name="embeddingSize">Width of the output embedding.</param>
    public TimestepEmbedding(int timesteps, int sinusoidalSize, int embeddingSize) : base(nameof(TimestepEmbedding))
    {
        if (timesteps <= 0) throw new ArgumentOutOfRangeException(nameof(timesteps), timesteps, "timesteps must be positive.");
        if (sinusoidalSize <= 0 || sinusoidalSize % 2 != 0) throw new ArgumentOutOfRangeException(nameof(sinusoidalSize), sinusoidalSize, "sinusoidalSize must be positive and even.");
        Timesteps = timesteps;
        SinusoidalSize = sinusoidalSize;
        SinusoidalTable = Sinusoidal(timesteps, sinusoidalSize);
        hidden = nn.Linear(sinusoidalSize, embeddingSize);
        output = nn.Linear(embeddingSize, embeddingSize);
        RegisterComponents();
    }

    /// <summary>T.</summary>
    public int Timesteps { get; }

    /// <summary>Width of the sinusoidal code.</summary>
    public int SinusoidalSize { get; }

    /// <summary>The sinusoidal table [T, SinusoidalSize], row-major: sin(t ωᵢ) then cos(t ωᵢ), ωᵢ = 10000^(−i / (size/2)).</summary>
    public float[] SinusoidalTable { get; }

    /// <summary>First linear layer.</summary>
    public Linear Hidden => hidden;

    /// <summary>Second linear layer.</summary>
    public Linear Output => output;

    /// <summary>Embeds int64 timesteps [batch] → [batch, embeddingSize].</summary>
    public override Tensor forward(Tensor timesteps)
    {
        using var scope = NewDisposeScope();
        // The table is rebuilt per call (T × size floats) rather than held as a buffer, so checkpoints hold weights only.
        var code = tensor(SinusoidalTable, [Timesteps, SinusoidalSize]).to(timesteps.device).index_select(0, timesteps);
        return output.forward(nn.functional.silu(hidden.forward(code))).MoveToOuterDisposeScope();
    }

    /// <summary>The sinusoidal table for t = 0..T-1.</summary>
    public static float[] Sinusoidal(int timesteps, int size)
    {
        int half = size / 2;
        var values = new float[timesteps * size];
        for (int t = 0; t < timesteps; t++)
            for (int i = 0; i < half; i++)
            {
                double angle = t * Math.Exp(-Math.Log(10000.0) * i / half);
                values[t * size + i] = (float)Math.Sin(angle);
                values[t * size + half + i] = (float)Math.Cos(angle);
            }
        return values;
    }
}
