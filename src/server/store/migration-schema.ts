// What every migration builds with: the unknown-schema handle and the dialect's column and
// table modifiers.
import { type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely, sql } from 'kysely';
import type { StoreDialect } from './store-dialect.js';

/** Kysely's migrations are written against an unknown schema: they create it. */
export type AnyDb = Kysely<unknown>;

/**
 * The dialect's column and table modifiers (see `migrations`): `id` gives an id column its
 * code-point collation on PostgreSQL, `table` makes a MySQL/MariaDB table InnoDB, utf8mb4, binary.
 */
export function schemaOf(dialect: StoreDialect): {
  readonly id: (col: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
  readonly table: <T extends string, C extends string>(
    builder: CreateTableBuilder<T, C>,
  ) => CreateTableBuilder<T, C>;
} {
  return {
    id: (col) => (dialect === 'postgres' ? col.modifyEnd(sql`collate "C"`) : col),
    table: (builder) =>
      dialect === 'mysql'
        ? builder.modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin`)
        : builder,
  };
}
