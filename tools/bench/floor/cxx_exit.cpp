// exec_floor.c's C++ program that does nothing: what any C++ program costs to start and exit here
// (libstdc++, libm and libgcc_s mapped and relocated, their static initialisers run). The string
// keeps libstdc++ a dependency under --as-needed.
#include <string>

int main(int argc, char** argv) { return std::string{argv[argc - 1]}.empty() ? 1 : 0; }
