/* Defines std::ios_base_library_init(), the one GLIBCXX_3.4.32 symbol libLibTorchSharp.so asks for.
   GCC 13 added it so that iostreams are initialised once per program; GCC 12's runtime initialises them
   itself, so an empty body is all an older libstdc++ needs. Built with -nostdlib: no dependencies and no
   symbol versions, so the dynamic linker accepts it for the retargeted, versioned reference. */
void _ZSt21ios_base_library_initv(void) {}
