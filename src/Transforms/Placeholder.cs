namespace Aigc.MLNet.Transforms;

/// <summary>Placeholder.</summary>
public static class Placeholder { }
