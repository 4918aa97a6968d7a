global using Microsoft.VisualStudio.TestTools.UnitTesting;
global using Aigc.MLNet.Testing;
