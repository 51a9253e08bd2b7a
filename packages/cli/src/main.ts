export async function main(argv: string[]): Promise<number> {
  console.log("compacter", argv.join(" "));
  return 0;
}
