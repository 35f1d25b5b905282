package dev.steer.models.gemma2;

import java.util.List;

/** TEMPORARY stand-in with the agreed accessors; replaced by the hf branch's full reader. */
public record Gemma2Config(int vocabSize, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
                           int numKvHeads, int headDim, double queryPreAttnScalar, int slidingWindow,
                           double attnLogitSoftcap, double finalLogitSoftcap, double ropeTheta, double rmsNormEps,
                           List<String> layerTypes, boolean tieWordEmbeddings, String dtype, int bosId, int[] eosIds,
                           int padId, String hiddenActivation) {
    public boolean isSliding(int layer) {
        return layerTypes.get(layer).equals("sliding_attention");
    }
}
