// Deletes an S3 bucket when its stack is deleted, even while objects still land in it.
//
// DrBucket's access-log bucket receives S3 server access logs, which S3 delivers on a
// best-effort basis, minutes after the request. Emptying the bucket and leaving its deletion to
// CloudFormation fails (409 BucketNotEmpty) whenever a delivery lands in between. This handler
// empties the bucket (every version and delete marker) and deletes it itself, and does both
// again while objects keep arriving, until the bucket is gone or the Lambda's time runs short.
//
// It deletes only a bucket tagged dr-constructs:delete-with-stack=true (the DESTROY opt-in):
// when an update drops the opt-in, the tag goes first, and the removed resource deletes nothing.
// Run by CDK's CustomResourceProvider entrypoint, which answers CloudFormation.
'use strict';
const { S3 } = require('@aws-sdk/client-s3');

const TAG = 'dr-constructs:delete-with-stack';
const PAUSE_MS = 10000; // between attempts
const RESERVE_MS = 60000; // of the Lambda's time, kept to answer CloudFormation

const s3 = new S3({});

exports.handler = async (event, context, pauseMs = PAUSE_MS) => {
  const bucket = event.ResourceProperties.BucketName;
  if (event.RequestType !== 'Delete') return { PhysicalResourceId: bucket };
  try {
    if (!(await isTagged(bucket))) {
      console.log(`${bucket} is not tagged ${TAG}=true: kept`);
      return undefined;
    }
    await deleteUntilGone(bucket, context, pauseMs);
  } catch (error) {
    if (error.name !== 'NoSuchBucket') throw error;
    console.log(`${bucket} is already gone`);
  }
  return undefined;
};

async function isTagged(bucket) {
  try {
    const { TagSet } = await s3.getBucketTagging({ Bucket: bucket });
    return (TagSet ?? []).some((tag) => tag.Key === TAG && tag.Value === 'true');
  } catch (error) {
    if (error.name === 'NoSuchTagSet') return false;
    throw error;
  }
}

async function deleteUntilGone(bucket, context, pauseMs) {
  for (let attempt = 1; ; attempt++) {
    await empty(bucket);
    try {
      await s3.deleteBucket({ Bucket: bucket });
      console.log(`${bucket} deleted (attempt ${attempt})`);
      return;
    } catch (error) {
      if (error.name !== 'BucketNotEmpty') throw error;
      if (context.getRemainingTimeInMillis() < pauseMs + RESERVE_MS) {
        throw new Error(`${bucket} still receives objects after ${attempt} attempts: ${error.message}`);
      }
      console.log(`${bucket}: objects arrived after it was emptied (attempt ${attempt}), again`);
    }
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

async function empty(bucket) {
  let page = {};
  do {
    page = await s3.listObjectVersions({
      Bucket: bucket,
      KeyMarker: page.NextKeyMarker,
      VersionIdMarker: page.NextVersionIdMarker,
    });
    const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map(
      ({ Key, VersionId }) => ({ Key, VersionId }),
    );
    if (objects.length > 0) {
      const { Errors } = await s3.deleteObjects({
        Bucket: bucket,
        Delete: { Objects: objects, Quiet: true },
      });
      if (Errors?.length) throw new Error(`${bucket}: ${Errors[0].Code} on ${Errors[0].Key}`);
    }
  } while (page.IsTruncated);
}
