# Writes OUTPUT, a C++ file holding every migrations/NNNN_name.sql file as a raw string literal.
# Run as: cmake -DOUTPUT=... -DSOURCES="a.sql;b.sql" -P embed_sql.cmake
list(SORT SOURCES)
set(body "")
foreach(source IN LISTS SOURCES)
  get_filename_component(name "${source}" NAME_WE)
  string(REGEX MATCH "^[0-9]+" number "${name}")
  string(REGEX REPLACE "^0+" "" number "${number}")
  file(READ "${source}" sql)
  string(APPEND body "        {${number}, \"${name}\", R\"keysat_sql(${sql})keysat_sql\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from lib/keysat/db/migrations/*.sql by cmake/embed_sql.cmake; do not edit.
#include \"keysat/db/migrations.hpp\"

namespace keysat::db {

const std::vector<MigrationSource>& migration_sources() {
    static const std::vector<MigrationSource> k_sources{
${body}    };
    return k_sources;
}

} // namespace keysat::db
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
