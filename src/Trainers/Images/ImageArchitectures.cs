namespace Aigc.MLNet.Trainers.Images;

/// <summary>GAN network families.</summary>
public enum GanArchitecture
{
    /// <summary>MLP generator z→256→512→1024→784 and discriminator 784→512→256→1 (<see cref="Models.MlpGenerator"/>).</summary>
    Mlp,

    /// <summary>DCGAN for 28×28 images (<see cref="Models.DcganGenerator"/>, <see cref="Models.DcganDiscriminator"/>).</summary>
    Dcgan,
}

/// <summary>How a conditional DCGAN discriminator takes the class in.</summary>
public enum DiscriminatorConditioning
{
    /// <summary>One constant plane per class beside the image at the input (the first convolution sees 1 + classes channels).</summary>
    InputPlanes,

    /// <summary>A projection discriminator (Miyato and Koyama 2018): the logit gains the inner product of a learned class
    /// embedding with the last feature map. Cheaper per step than input planes.</summary>
    Projection,
}

/// <summary>VAE network families.</summary>
public enum VaeArchitecture
{
    /// <summary>MLP encoder/decoder 784-hidden-latent (<see cref="Models.MlpVae"/>).</summary>
    Mlp,

    /// <summary>Convolutional encoder/decoder for 28×28 images (<see cref="Models.ConvVae"/>).</summary>
    Convolutional,
}

/// <summary>How the learning rate moves over a run.</summary>
public enum LearningRateSchedule
{
    /// <summary>The learning rate stays at its set value.</summary>
    Constant,

    /// <summary>Half a cosine from the set value at the first step down to zero after the last step of the planned epochs.</summary>
    Cosine,
}
