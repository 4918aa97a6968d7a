using TorchSharp;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Tests;

[TestClass]
public sealed class TorchSharpLoadTests
{
    /// <summary>Fits y = x·[1, -2, 0.5] + 0.25 with a linear layer: the loss falls at each of 20 Adam steps, and the same seed gives the same losses.</summary>
    [TestMethod]
    public void LinearLayerTrainsWithAdam()
    {
        float[] losses = Train(seed: 7);
        for (int i = 1; i < losses.Length; i++)
            Assert.IsLessThan(losses[i - 1], losses[i], $"loss rose at step {i}: {string.Join(", ", losses)}");
        Assert.IsLessThan(0.6f * losses[0], losses[^1], $"loss {losses[0]} -> {losses[^1]}");
        CollectionAssert.AreEqual(losses, Train(seed: 7), "same seed, same losses");
        CollectionAssert.AreNotEqual(losses, Train(seed: 8), "another seed starts elsewhere");
    }

    /// <summary>Adam's first step moves every weight by lr against the sign of its gradient (bias-corrected m/sqrt(v) = ±1).</summary>
    [TestMethod]
    public void FirstAdamStepMovesWeightsByLearningRate()
    {
        torch.manual_seed(3);
        using var layer = nn.Linear(2, 1);
        using var before = layer.weight!.detach().clone();
        using var x = torch.tensor(new float[] { 1, 2, -1, 0.5f }, 2, 2);
        using var y = torch.tensor(new float[] { 3, -1 }, 2, 1);
        using var optimizer = optim.Adam(layer.parameters(), lr: 0.1);
        using (var scope = torch.NewDisposeScope())
        {
            var loss = nn.functional.mse_loss(layer.forward(x), y);
            loss.backward();
        }
        using var grad = layer.weight!.grad!.detach().clone();
        optimizer.step();
        using var after = layer.weight!.detach();
        var b = before.data<float>().ToArray();
        var a = after.data<float>().ToArray();
        var g = grad.data<float>().ToArray();
        for (int i = 0; i < b.Length; i++)
            Assert.AreEqual(b[i] - 0.1f * Math.Sign(g[i]), a[i], 1e-5f);
    }

    private static float[] Train(int seed)
    {
        torch.manual_seed(seed);
        using var layer = nn.Linear(3, 1);
        float[] xs = [1, 2, 3, -1, 0, 2, 0.5f, -1.5f, 1, 2, 2, -2, -1, 1, 0, 3, -3, 0.5f];
        var targets = new float[6];
        for (int i = 0; i < 6; i++)
            targets[i] = xs[3 * i] - 2 * xs[3 * i + 1] + 0.5f * xs[3 * i + 2] + 0.25f;
        using var x = torch.tensor(xs, 6, 3);
        using var y = torch.tensor(targets, 6, 1);
        using var optimizer = optim.Adam(layer.parameters(), lr: 0.05);
        var losses = new float[20];
        for (int step = 0; step < losses.Length; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(layer.forward(x), y);
            loss.backward();
            optimizer.step();
            losses[step] = loss.item<float>();
        }
        return losses;
    }
}
