// SQL that writes JSON text as JSON.stringify(_, null, 2) writes it, for output
// that SQLite can render itself: one string a row reaches JavaScript, not a
// value per column. json_quote escapes as JSON.stringify does (measured on
// quotes, backslashes, control characters, U+2028, non-ASCII).

const NL = "char(10)";
const pad = (depth: number) => `'${" ".repeat(depth * 2)}'`;
/** An SQL string literal (newlines kept as they are: SQLite allows them inside quotes). */
const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** A field of an object: SQL giving its value's JSON text; with `when`, present only where that SQL is true. */
export interface JsonField {
  key: string;
  json: string;
  when?: string;
}

/**
 * SQL for an object as jsonElement(_, depth) writes it (an element `depth`
 * arrays deep); the last field is always there. One concat() a row: a chain
 * of || copies the growing text once per piece, three times slower.
 */
export function prettyObjectSql(fields: JsonField[], depth: number): string {
  const indent = (d: number) => " ".repeat(d * 2);
  const parts: string[] = [];
  let text = `${indent(depth)}{\n`;
  const flush = () => {
    if (text) parts.push(literal(text));
    text = "";
  };
  fields.forEach((f, i) => {
    const last = i === fields.length - 1;
    const head = `${indent(depth + 1)}${JSON.stringify(f.key)}: `;
    const tail = last ? `\n${indent(depth)}}` : ",\n";
    if (f.when && !last) {
      flush();
      parts.push(`iif(${f.when}, concat(${literal(head)}, ${f.json}, ${literal(tail)}), '')`);
      return;
    }
    text += head;
    flush();
    parts.push(f.json);
    text = tail;
  });
  flush();
  return `concat(${parts.join(", ")})`;
}

/** SQL for an array (a field's value at `depth`) of a group's items, each item SQL giving its JSON text. */
export function prettyArraySql(items: string, order: string, depth: number): string {
  const list = `group_concat(${NL} || ${pad(depth + 1)} || ${items}, ',' ORDER BY ${order})`;
  return `coalesce('[' || ${list} || ${NL} || ${pad(depth)} || ']', '[]')`;
}

/** The JSON text of a column's value: a string quoted, a number as it is, NULL as null. */
export const jsonValue = (sql: string) => `json_quote(${sql})`;

/** A string constant's JSON text, as an SQL literal. */
export const jsonText = (s: string) => `'${JSON.stringify(s).replaceAll("'", "''")}'`;

/** Milliseconds since 1970 (after it) as Date#toISOString writes them, fractions of a ms cut off; null stays null. */
export const isoSql = (sql: string) => {
  const ms = `CAST(${sql} AS INTEGER)`;
  return `iif(${sql} IS NULL, 'null', concat('"', strftime('%Y-%m-%dT%H:%M:%S', ${ms} / 1000, 'unixepoch'), '.', printf('%03d', ${ms} % 1000), 'Z"'))`;
};

/** A 0/1 column as false/true. */
export const boolSql = (sql: string) => `iif(${sql} = 1, 'true', 'false')`;
