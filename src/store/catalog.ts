import type { Pool, Tx } from './pool';

export interface Product {
  sku: string;
  name: string;
  priceCents: number;
  stock: number;
}

/** SKU that always has zero stock (DESIGN.md §4). */
export const SOLD_OUT_SKU = 'SKU-SOLDOUT';

const NAMES = [
  'Notebook',
  'Pen set',
  'Desk lamp',
  'Backpack',
  'Water bottle',
  'Headphones',
  'Keyboard',
  'Mouse',
  'Monitor stand',
  'Office chair',
];

/** The catalog `npm start` seeds: SKU-0001 … SKU-0010 with ample stock, plus SKU-SOLDOUT. */
export const SEED_PRODUCTS: readonly Product[] = [
  ...NAMES.map((name, i) => ({
    sku: `SKU-${String(i + 1).padStart(4, '0')}`,
    name,
    priceCents: (i + 1) * 1000 - 1,
    stock: 1_000_000,
  })),
  { sku: SOLD_OUT_SKU, name: 'Limited edition (sold out)', priceCents: 4999, stock: 0 },
];

const SQL = {
  seed: `INSERT INTO products (sku, name, price_cents, stock)
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[])
    ON CONFLICT (sku) DO NOTHING`,
  list: `SELECT sku, name, price_cents AS "priceCents", stock FROM products ORDER BY sku`,
} as const;

/** Inserts missing seed products; existing rows (and their stock) are left alone. */
export async function seedCatalog(db: Pool | Tx, products: readonly Product[] = SEED_PRODUCTS): Promise<void> {
  await db.query(SQL.seed, [
    products.map((p) => p.sku),
    products.map((p) => p.name),
    products.map((p) => p.priceCents),
    products.map((p) => p.stock),
  ]);
}

export async function listProducts(db: Pool | Tx): Promise<Product[]> {
  return (await db.query<Product>(SQL.list)).rows;
}
