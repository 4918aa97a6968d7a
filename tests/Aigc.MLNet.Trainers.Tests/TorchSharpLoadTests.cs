using TorchSharp;
using static TorchSharp.torch;

namespace Aigc.MLNet.Trainers.Tests;

[TestClass]
public sealed class TorchSharpLoadTests
{
    [TestMethod]
    public void LinearLayerTrains()
    {
        torch.manual_seed(1);
        using var lin = nn.Linear(3, 1);
        var x = torch.tensor(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var y = torch.tensor(new float[] { 1, 2 }, 2, 1);
        var opt = optim.Adam(lin.parameters(), 0.1);
        float first = 0, last = 0;
        for (int i = 0; i < 20; i++)
        {
            using var scope = torch.NewDisposeScope();
            opt.zero_grad();
            var loss = nn.functional.mse_loss(lin.forward(x), y);
            loss.backward();
            opt.step();
            if (i == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Console.WriteLine($"{first} {last}");
        Assert.IsTrue(last < first);
    }
}
