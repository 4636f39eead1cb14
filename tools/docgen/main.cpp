#include "keysat/cli/docgen.hpp"

int main(int argc, char** argv) {
    return keysat::cli::docgen_main(argc, argv);
}
