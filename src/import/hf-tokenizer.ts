/**
 * A Hugging Face BERT tokenizer directory: `vocab.txt` (line N = id N-1) and the optional
 * `tokenizer_config.json`, of which `do_lower_case` matters (default true, as BertTokenizer's).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadVocabFile, saveVocab, WordPieceTokenizer } from '../tokenizer/index.js';
import { writeJsonAtomic } from '../util/fs.js';
import { ImportError } from './errors.js';

/** The files of a Hugging Face BERT tokenizer directory that are read and written here. */
export const HF_TOKENIZER_FILES = { vocab: 'vocab.txt', config: 'tokenizer_config.json' } as const;

export interface HfTokenizer {
  tokenizer: WordPieceTokenizer;
  vocabFile: string;
  warnings: string[];
}

/** Reads `dir/vocab.txt` and `dir/tokenizer_config.json` into the project's WordPiece tokenizer. */
export function readHfTokenizer(dir: string): HfTokenizer {
  const vocabFile = join(dir, HF_TOKENIZER_FILES.vocab);
  if (!existsSync(vocabFile)) {
    const fastOnly = existsSync(join(dir, 'tokenizer.json'))
      ? ' (only tokenizer.json is there, which is not read yet: save the tokenizer with BertTokenizer.save_pretrained to get vocab.txt)'
      : '';
    throw new ImportError(`${vocabFile}: not found; a BERT directory needs its WordPiece vocabulary${fastOnly}`);
  }
  const warnings: string[] = [];
  let lowercase = true;
  const configFile = join(dir, HF_TOKENIZER_FILES.config);
  if (existsSync(configFile)) {
    let cfg: Record<string, unknown>;
    try {
      cfg = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new ImportError(`${configFile}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw new ImportError(`${configFile}: expected a JSON object`);
    if (cfg.do_lower_case !== undefined) {
      if (typeof cfg.do_lower_case !== 'boolean')
        throw new ImportError(`${configFile}: do_lower_case must be true or false, found ${JSON.stringify(cfg.do_lower_case)}`);
      lowercase = cfg.do_lower_case;
    }
    const cls = cfg.tokenizer_class;
    if (typeof cls === 'string' && !/^(Bert|DistilBert)Tokenizer(Fast)?$/.test(cls)) {
      warnings.push(`${configFile}: tokenizer_class ${cls} is read as a BERT WordPiece tokenizer (vocab.txt + do_lower_case)`);
    }
    // The project strips accents exactly when it lower-cases (BERT's default); say when a config asks otherwise.
    if (typeof cfg.strip_accents === 'boolean' && cfg.strip_accents !== lowercase) {
      warnings.push(
        `${configFile}: strip_accents ${cfg.strip_accents} with do_lower_case ${lowercase} is not supported; accents are ${lowercase ? '' : 'not '}stripped`,
      );
    }
    if (cfg.tokenize_chinese_chars === false)
      warnings.push(`${configFile}: tokenize_chinese_chars false is not supported; CJK ideographs are split into words of their own`);
  }
  let vocab: string[];
  try {
    vocab = loadVocabFile(vocabFile);
  } catch (e) {
    throw new ImportError((e as Error).message);
  }
  try {
    return { tokenizer: new WordPieceTokenizer(vocab, { lowercase, vocabSource: vocabFile }), vocabFile, warnings };
  } catch (e) {
    throw new ImportError((e as Error).message);
  }
}

/** Writes `vocab.txt` and a BertTokenizer `tokenizer_config.json` into `dir`; returns the paths. */
export function writeHfTokenizer(dir: string, vocab: readonly string[], lowercase: boolean, maxLength: number): string[] {
  const vocabFile = join(dir, HF_TOKENIZER_FILES.vocab);
  const configFile = join(dir, HF_TOKENIZER_FILES.config);
  saveVocab(vocabFile, vocab);
  writeJsonAtomic(configFile, {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: lowercase,
    strip_accents: null,
    tokenize_chinese_chars: true,
    model_max_length: maxLength,
    unk_token: '[UNK]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    cls_token: '[CLS]',
    mask_token: '[MASK]',
    clean_up_tokenization_spaces: true,
  });
  return [vocabFile, configFile];
}
