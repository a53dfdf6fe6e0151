import { describe, expect, it } from 'vitest';
import {
  hasEveryWord,
  hasSearchableWord,
  markedRuns,
  searchWords,
  wordRanges,
} from '../../src/lib/search-text.js';

describe('searchWords', () => {
  it('splits on anything but letters and digits, lower-cased, each once', () => {
    expect(searchWords('Ação  "ação" +number-05')).toEqual(['ação', 'number', '05']);
    expect(searchWords('')).toEqual([]);
  });

  it('knows when only short words are given', () => {
    expect(hasSearchableWord('a 05 to')).toBe(false);
    expect(hasSearchableWord('a pear')).toBe(true);
  });
});

describe('hasEveryWord', () => {
  it('needs every word, short ones included, in any of the texts', () => {
    expect(hasEveryWord(['Question number 05', 'Echo'], 'number 05')).toBe(true);
    expect(hasEveryWord(['Question number 15', 'Echo'], 'number 05')).toBe(false);
    expect(hasEveryWord(['Question', 'Echo: NUMBER'], 'number question')).toBe(true);
  });
});

describe('wordRanges', () => {
  it('marks the words that start with a searched word', () => {
    expect(wordRanges('Trip to Lisbon, lisboa', 'lisb')).toEqual([
      { start: 8, length: 4 },
      { start: 16, length: 4 },
    ]);
  });
});

describe('markedRuns', () => {
  it('cuts the text into plain and marked runs', () => {
    expect(markedRuns('a pear and a pearl', [{ start: 2, length: 4 }])).toEqual([
      { text: 'a ', marked: false },
      { text: 'pear', marked: true },
      { text: ' and a pearl', marked: false },
    ]);
  });

  it('keeps markup as text, for the template to escape', () => {
    const runs = markedRuns('<img src=x onerror=alert(1)>', [{ start: 1, length: 3 }]);
    expect(runs.map((run) => run.text).join('')).toBe('<img src=x onerror=alert(1)>');
  });

  it('tolerates ranges out of order, overlapping or out of bounds', () => {
    const ranges = [
      { start: 8, length: 50 },
      { start: -3, length: 5 },
      { start: 1, length: 2 },
      { start: 20, length: 1 },
    ];
    expect(markedRuns('0123456789', ranges)).toEqual([
      { text: '012', marked: true },
      { text: '34567', marked: false },
      { text: '89', marked: true },
    ]);
  });
});
