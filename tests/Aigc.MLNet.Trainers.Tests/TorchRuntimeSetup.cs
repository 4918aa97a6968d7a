using Aigc.MLNet.Trainers.Native;

namespace Aigc.MLNet.Trainers.Tests;

/// <summary>Some tests call TorchSharp before any trainer type, as an application using TorchSharp directly would.</summary>
[TestClass]
public static class TorchRuntimeSetup
{
    [AssemblyInitialize]
    public static void PrepareTorchSharp(TestContext _) => TorchRuntime.Initialize();
}
