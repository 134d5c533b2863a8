import { Batcher, SingleFlight } from 'src/common/batcher';

describe('Batcher', () => {
  it('runs an idle call at once and groups the calls that arrive meanwhile', async () => {
    const calls: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new Batcher<number, number>(
      async (items) => {
        calls.push(items);
        if (calls.length === 1) await gate;
        return items.map((i) => i * 10);
      },
      100,
      1,
    );
    const first = b.submit(1);
    const rest = [2, 3, 4].map((i) => b.submit(i));
    release();
    await expect(first).resolves.toBe(10);
    await expect(Promise.all(rest)).resolves.toEqual([20, 30, 40]);
    expect(calls).toEqual([[1], [2, 3, 4]]);
  });

  it('gives every caller of a failed batch the error', async () => {
    const b = new Batcher<number, number>(async () => {
      throw new Error('down');
    });
    await expect(b.submit(1)).rejects.toThrow('down');
  });

  it('tries a failed batch again member by member, so only the member that fails alone gets an error', async () => {
    const calls: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new Batcher<number, number>(async (items) => {
      calls.push(items);
      if (calls.length === 1) await gate;
      if (items.includes(13)) throw new Error('13 is refused');
      return items.map((i) => i * 10);
    });
    const first = b.submit(1);
    const rest = [12, 13, 14].map((i) => b.submit(i).then(String, (e: Error) => e.message));
    release();
    await expect(first).resolves.toBe(10);
    await expect(Promise.all(rest)).resolves.toEqual(['120', '13 is refused', '140']);
    expect(calls).toEqual([[1], [12, 13, 14], [12], [13], [14]]);
  });
});

describe('SingleFlight', () => {
  it('shares one load between concurrent callers, and loads again afterwards', async () => {
    let loads = 0;
    const sf = new SingleFlight<string, number>(async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 10));
      return loads;
    });
    await expect(Promise.all([sf.get('a'), sf.get('a'), sf.get('a')])).resolves.toEqual([1, 1, 1]);
    await expect(sf.get('a')).resolves.toBe(2);
  });
});
