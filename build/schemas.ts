/**
 * The JSON Schemas (draft 2020-12) of the files `jwt-gateway check` reads,
 * written from the definitions it reads them with (cli/fields.ts) into
 * nginx/schemas/, for editors: a file with `"$schema"` naming one gets its
 * fields completed, described and validated as it is typed. `npm run
 * snippets` rewrites them; test/unit/schemas.test.ts fails while a committed
 * one differs.
 */
import { DOCUMENTS, DocumentSpec, ObjectShape, Shape } from '../cli/fields';

export const SCHEMA_DIR = 'nginx/schemas';

type Schema = { [keyword: string]: unknown };

/** The keywords that are set, in the order given. */
function defined(keywords: Schema): Schema {
  const out: Schema = {};
  for (const [name, value] of Object.entries(keywords)) if (value !== undefined) out[name] = value;
  return out;
}

function objectSchema(shape: ObjectShape): Schema {
  const required = shape.fields.filter((field) => field.required).map((field) => field.name);
  return defined({
    type: 'object',
    properties: shape.fields.length
      ? Object.fromEntries(shape.fields.map((field) => [field.name, { description: field.description, ...schemaOf(field.shape) }]))
      : undefined,
    required: required.length ? required : undefined,
    additionalProperties: shape.closed ? false : undefined,
    allOf: shape.cases?.map((when) => ({
      if: defined({ properties: { [when.field]: { enum: when.values } }, required: when.orAbsent ? undefined : [when.field] }),
      then: { required: when.required },
    })),
  });
}

function schemaOf(shape: Shape): Schema {
  switch (shape.type) {
    case 'string':
      return defined({ type: 'string', enum: shape.enum, minLength: shape.minLength, pattern: shape.pattern });
    case 'boolean':
      return { type: 'boolean' };
    case 'integer':
      return defined({ type: 'integer', minimum: shape.minimum, maximum: shape.maximum });
    case 'array':
      return defined({ type: 'array', items: schemaOf(shape.items), contains: shape.contains === undefined ? undefined : { const: shape.contains } });
    case 'anyOf':
      return { anyOf: shape.of.map(schemaOf) };
    case 'absent':
      return { not: {} };
    case 'object':
      return objectSchema(shape);
  }
}

/** One document's schema. */
export function documentSchema(document: DocumentSpec): Schema {
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', title: document.title, description: document.description, ...objectSchema(document.shape) };
}

/** Each schema file's path (from the repository's root) and text. */
export function schemaFiles(): { [file: string]: string } {
  const files: { [file: string]: string } = {};
  for (const document of DOCUMENTS) files[SCHEMA_DIR + '/' + document.schemaFile] = JSON.stringify(documentSchema(document), null, 2) + '\n';
  return files;
}
