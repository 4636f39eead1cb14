#include "keysat/cli/migrate_cli.hpp"

int main(int argc, char** argv) {
    return keysat::cli::migrate_main(argc, argv);
}
